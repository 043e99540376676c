package leveldb_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/storage/leveldb"
	"github.com/teaclave-go/teaclave/storage/sealfs"
)

// The crash test re-executes this test binary as a child that writes to a
// store and reports each acknowledged write on stdout, and kills it with
// SIGKILL at a random moment, round after round on the same folder.
const (
	crashDirEnv   = "TEACLAVE_STORAGE_CRASH_DIR"
	crashRoundEnv = "TEACLAVE_STORAGE_CRASH_ROUND"
	crashPlainEnv = "TEACLAVE_STORAGE_CRASH_PLAIN"
)

func openCrashStore(dir string, plain bool) (*leveldb.Store, func(), error) {
	if plain {
		s, err := leveldb.Open(dir, nil)
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	}
	stor, err := sealfs.Open(dir, testKey[:], nil)
	if err != nil {
		return nil, nil, err
	}
	s, err := leveldb.OpenStorage(stor, nil)
	if err != nil {
		stor.Close()
		return nil, nil, err
	}
	return s, func() { s.Close(); stor.Close() }, nil
}

// TestCrashChild is the child's workload; it runs only when the crash test
// starts it.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run by TestCrash")
	}
	round := os.Getenv(crashRoundEnv)
	s, _, err := openCrashStore(dir, os.Getenv(crashPlainEnv) != "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(3)
	}
	var mu sync.Mutex
	ack := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(os.Stdout, format+"\n", args...)
	}
	ack("READY")
	ctx := context.Background()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(4)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(g), uint64(len(round))))
			for i := 0; ; i++ {
				id := fmt.Sprintf("%s/%d/%d", round, g, i)
				switch rnd.IntN(5) {
				case 0:
					if err := s.Put(ctx, []byte("p/"+id), []byte("v/"+id)); err != nil {
						fail(err)
					}
					ack("PUT %s", id)
				case 1:
					if err := s.Enqueue(ctx, []byte("jobs"), []byte("j/"+id)); err != nil {
						fail(err)
					}
					ack("ENQ %s", id)
				case 2:
					x := []byte("x/" + id)
					_, err := s.Commit(ctx, []teaclave.Condition{teaclave.Absent([]byte("c/" + id + "/a"))}, []teaclave.Op{
						teaclave.PutOp([]byte("c/"+id+"/a"), x),
						teaclave.PutOp([]byte("c/"+id+"/b"), x),
						teaclave.EnqueueOp([]byte("cq"), []byte(id)),
						teaclave.PutOp([]byte("c/"+id+"/c"), x),
					})
					if err != nil {
						fail(err)
					}
					ack("COMMIT %s", id)
				case 3:
					res, err := s.Commit(ctx, nil, []teaclave.Op{teaclave.DequeueIntoOp([]byte("jobs"), []byte("moved/"+id))})
					if errors.Is(err, teaclave.ErrFailedPrecondition) {
						continue
					}
					if err != nil {
						fail(err)
					}
					ack("MOVE %s %s", id, res.Dequeued[0])
				case 4:
					v, ver, err := s.Get(ctx, []byte("counter"))
					cond := teaclave.AtVersion([]byte("counter"), ver)
					n := 0
					switch {
					case errors.Is(err, teaclave.ErrNotFound):
						cond = teaclave.Absent([]byte("counter"))
					case err != nil:
						fail(err)
					default:
						n, _ = strconv.Atoi(string(v))
					}
					_, err = s.Commit(ctx, []teaclave.Condition{cond}, []teaclave.Op{
						teaclave.PutOp([]byte("counter"), []byte(strconv.Itoa(n+1))),
						teaclave.PutOp(fmt.Appendf(nil, "log/%08d", n+1), []byte(id)),
					})
					if errors.Is(err, teaclave.ErrFailedPrecondition) {
						continue
					}
					if err != nil {
						fail(err)
					}
					ack("CAS %d", n+1)
				}
			}
		})
	}
	wg.Wait()
}

// crashModel is what the parent knows: acknowledged writes, and what it
// has taken out of the queues while checking.
type crashModel struct {
	puts    []string
	enqs    map[string]bool // acknowledged "j/<id>" elements
	commits []string
	moves   map[string]string // moved key -> value, acknowledged
	cas     int               // highest acknowledged counter
	taken   map[string]string // every jobs element seen, -> where
	cqTaken map[string]bool
}

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test in -short mode")
	}
	for _, plain := range []bool{false, true} {
		name := "sealed"
		if plain {
			name = "plain"
		}
		t.Run(name, func(t *testing.T) { runCrash(t, plain) })
	}
}

func runCrash(t *testing.T, plain bool) {
	const rounds = 20
	dir := t.TempDir()
	// goleveldb cannot recover a creation cut short (see the package
	// doc), so the database exists before the first kill.
	_, closeStore, err := openCrashStore(dir, plain)
	if err != nil {
		t.Fatal(err)
	}
	closeStore()

	m := &crashModel{enqs: map[string]bool{}, moves: map[string]string{}, taken: map[string]string{}, cqTaken: map[string]bool{}}
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	totalAcks := 0
	for round := range rounds {
		delay := time.Duration(50+rnd.IntN(400)) * time.Millisecond
		acks, stderr := runChild(t, dir, round, plain, delay)
		totalAcks += len(acks)
		for _, a := range acks {
			f := strings.Fields(a)
			switch f[0] {
			case "PUT":
				m.puts = append(m.puts, f[1])
			case "ENQ":
				m.enqs["j/"+f[1]] = true
			case "COMMIT":
				m.commits = append(m.commits, f[1])
			case "MOVE":
				m.moves["moved/"+f[1]] = f[2]
			case "CAS":
				n, _ := strconv.Atoi(f[1])
				m.cas = max(m.cas, n)
			}
		}
		if strings.Contains(stderr, "child:") || strings.Contains(stderr, "open:") {
			t.Fatalf("round %d: child failed: %s", round, stderr)
		}
		checkCrash(t, dir, plain, round, m)
	}
	t.Logf("%d rounds, %d acknowledged writes, %d jobs elements accounted for", rounds, totalAcks, len(m.taken))
}

// runChild runs one child round and returns its acknowledgements.
func runChild(t *testing.T, dir string, round int, plain bool, delay time.Duration) ([]string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round))
	if plain {
		cmd.Env = append(cmd.Env, crashPlainEnv+"=1")
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan []string, 1)
	go func() {
		var acks []string
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			l := sc.Text()
			if l != "READY" && l != "" {
				acks = append(acks, l)
			}
		}
		lines <- acks
	}()
	time.Sleep(delay)
	cmd.Process.Kill()
	acks := <-lines
	cmd.Wait()
	return acks, stderr.String()
}

func checkCrash(t *testing.T, dir string, plain bool, round int, m *crashModel) {
	t.Helper()
	ctx := context.Background()
	s, closeStore, err := openCrashStore(dir, plain)
	if err != nil {
		t.Fatalf("round %d: reopen after kill: %v", round, err)
	}
	defer closeStore()
	fatal := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("round %d: "+format, append([]any{round}, args...)...)
	}

	for _, id := range m.puts {
		v, _, err := s.Get(ctx, []byte("p/"+id))
		if err != nil || string(v) != "v/"+id {
			fatal("acknowledged put %s: %q, %v", id, v, err)
		}
	}
	for k, want := range m.moves {
		v, _, err := s.Get(ctx, []byte(k))
		if err != nil || string(v) != want {
			fatal("acknowledged move %s: %q, %v; want %q", k, v, err, want)
		}
	}

	// Every jobs element, acknowledged or not, is in exactly one place:
	// the queue or one moved key; every acknowledged one is somewhere.
	moved := scan(t, s, "moved/")
	for _, kv := range moved {
		v := string(kv.Value)
		if where, ok := m.taken[v]; ok && where != string(kv.Key) {
			fatal("element %s both in %s and %s", v, where, kv.Key)
		}
		m.taken[v] = string(kv.Key)
	}
	last := map[string]int{}
	for {
		v, err := s.Dequeue(ctx, []byte("jobs"))
		if errors.Is(err, teaclave.ErrNotFound) {
			break
		}
		if err != nil {
			fatal("dequeue: %v", err)
		}
		e := string(v)
		if where, ok := m.taken[e]; ok {
			fatal("element %s in the queue and in %s", e, where)
		}
		m.taken[e] = "queue"
		// FIFO per producer: j/<round>/<g>/<i>.
		p := strings.Split(e, "/")
		i, _ := strconv.Atoi(p[3])
		if prev, ok := last[p[1]+"/"+p[2]]; ok && i <= prev {
			fatal("queue order: %s after index %d", e, prev)
		}
		last[p[1]+"/"+p[2]] = i
	}
	for e := range m.enqs {
		if _, ok := m.taken[e]; !ok {
			fatal("acknowledged element %s lost", e)
		}
	}

	// Commits are whole: keys a, b, c and the cq element together.
	parts := map[string]int{}
	for _, kv := range scan(t, s, "c/") {
		k := string(kv.Key)
		parts[k[2:strings.LastIndexByte(k, '/')]]++
	}
	for {
		v, err := s.Dequeue(ctx, []byte("cq"))
		if errors.Is(err, teaclave.ErrNotFound) {
			break
		}
		if err != nil {
			fatal("dequeue cq: %v", err)
		}
		if m.cqTaken[string(v)] {
			fatal("cq element %s twice", v)
		}
		m.cqTaken[string(v)] = true
	}
	for id, n := range parts {
		if n != 3 || !m.cqTaken[id] {
			fatal("commit %s partly applied: %d of 3 keys, queue element %v", id, n, m.cqTaken[id])
		}
	}
	for id := range m.cqTaken {
		if parts[id] != 3 {
			fatal("commit %s: queue element without its keys", id)
		}
	}
	for _, id := range m.commits {
		if parts[id] != 3 {
			fatal("acknowledged commit %s missing", id)
		}
	}

	// The counter equals its log, which has no gaps, and covers every
	// acknowledged increment.
	n := 0
	if v, _, err := s.Get(ctx, []byte("counter")); err == nil {
		n, _ = strconv.Atoi(string(v))
	} else if !errors.Is(err, teaclave.ErrNotFound) {
		fatal("counter: %v", err)
	}
	logs := scan(t, s, "log/")
	if len(logs) != n {
		fatal("counter %d but %d log entries", n, len(logs))
	}
	for i, kv := range logs {
		if want := fmt.Sprintf("log/%08d", i+1); string(kv.Key) != want {
			fatal("log entry %s where %s was due", kv.Key, want)
		}
	}
	if n < m.cas {
		fatal("counter %d below the acknowledged %d", n, m.cas)
	}
}

func scan(t *testing.T, s teaclave.Store, prefix string) []teaclave.KV {
	t.Helper()
	var all []teaclave.KV
	start := []byte(prefix)
	end := []byte(prefix[:len(prefix)-1] + string(prefix[len(prefix)-1]+1))
	for {
		kvs, err := s.Range(context.Background(), start, end, 0, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(kvs) == 0 {
			return all
		}
		all = append(all, kvs...)
		start = append(bytes.Clone(kvs[len(kvs)-1].Key), 0)
	}
}
