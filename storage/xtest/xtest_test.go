package xtest_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/storage/memstore"
	"github.com/teaclave-go/teaclave/storage/xtest"
)

// Mutants are stores with one classic bug each. The suite must fail on
// every one of them, in the exercise named.
type mutant struct {
	teaclave.Store
	kind string
}

func (m *mutant) GetKeysByPrefix(ctx context.Context, prefix []byte) ([][]byte, error) {
	keys, err := m.Store.GetKeysByPrefix(ctx, prefix)
	if m.kind != "prefix-bug" || err != nil {
		return keys, err
	}
	// Teaclave's bug: the first key at or after the prefix is always
	// included.
	kvs, err := m.Store.Range(ctx, prefix, nil, 1, false)
	if err != nil || len(kvs) == 0 || (len(keys) > 0 && bytes.Equal(keys[0], kvs[0].Key)) {
		return keys, err
	}
	return append([][]byte{kvs[0].Key}, keys...), nil
}

func (m *mutant) Commit(ctx context.Context, conds []teaclave.Condition, ops []teaclave.Op) (teaclave.CommitResult, error) {
	switch m.kind {
	case "ignore-conditions":
		return m.Store.Commit(ctx, nil, ops)
	case "not-atomic":
		// Apply op by op, stopping at the first failure.
		var res teaclave.CommitResult
		if _, err := m.Store.Commit(ctx, conds, nil); err != nil {
			return res, err
		}
		for _, op := range ops {
			r, err := m.Store.Commit(ctx, nil, []teaclave.Op{op})
			if err != nil {
				return res, err
			}
			res.Dequeued = append(res.Dequeued, r.Dequeued...)
		}
		return res, nil
	}
	return m.Store.Commit(ctx, conds, ops)
}

func (m *mutant) Get(ctx context.Context, key []byte) ([]byte, uint64, error) {
	v, ver, err := m.Store.Get(ctx, key)
	if m.kind == "version-by-value" && err == nil {
		// A version derived from the value: unchanged by a rewrite.
		ver = uint64(len(v)) + 1
	}
	return v, ver, err
}

func (m *mutant) Dequeue(ctx context.Context, q []byte) ([]byte, error) {
	if m.kind != "lifo" {
		return m.Store.Dequeue(ctx, q)
	}
	var all [][]byte
	for {
		v, err := m.Store.Dequeue(ctx, q)
		if err != nil {
			break
		}
		all = append(all, v)
	}
	if len(all) == 0 {
		return nil, teaclave.Errorf(teaclave.KindNotFound, "empty")
	}
	for _, v := range all[:len(all)-1] {
		m.Store.Enqueue(ctx, q, v)
	}
	return all[len(all)-1], nil
}

func (m *mutant) WaitDequeue(ctx context.Context, q []byte) ([]byte, error) {
	if m.kind == "wait-polls-once" {
		return m.Store.Dequeue(ctx, q)
	}
	return m.Store.WaitDequeue(ctx, q)
}

func (m *mutant) Put(ctx context.Context, key, value []byte) error {
	if m.kind == "no-limits" && len(key) == 0 {
		return nil
	}
	return m.Store.Put(ctx, key, value)
}

const mutantEnv = "TEACLAVE_XTEST_MUTANT"

// TestMutantChild runs the suite on the mutant its parent names.
func TestMutantChild(t *testing.T) {
	kind := os.Getenv(mutantEnv)
	if kind == "" {
		t.Skip("run by TestSuiteCatchesMutants")
	}
	xtest.ExerciseStore(t, func(t *testing.T) teaclave.Store {
		return &mutant{Store: memstore.New(), kind: kind}
	})
}

// TestSuiteCatchesMutants shows the suite can fail: each mutant fails the
// exercise aimed at its bug.
func TestSuiteCatchesMutants(t *testing.T) {
	for kind, exercise := range map[string]string{
		"prefix-bug":        "KeysByPrefix",
		"not-atomic":        "CommitAtomic",
		"ignore-conditions": "Conditions",
		"version-by-value":  "Versions",
		"lifo":              "Queues",
		"wait-polls-once":   "Wait",
		"no-limits":         "Limits",
	} {
		t.Run(kind, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestMutantChild$/^"+exercise+"$", "-test.v", "-test.short")
			cmd.Env = append(os.Environ(), mutantEnv+"="+kind)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a store with bug %q:\n%s", kind, out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestMutantChild/"+exercise) {
				t.Fatalf("bug %q did not fail exercise %s:\n%s", kind, exercise, out)
			}
		})
	}
	// And passes the same wrapper without a bug.
	cmd := exec.Command(os.Args[0], "-test.run=^TestMutantChild$", "-test.short")
	cmd.Env = append(os.Environ(), mutantEnv+"=none")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the suite failed the correct store:\n%s", out)
	}
}
