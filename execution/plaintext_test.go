//go:build !teaclave_production

package execution_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/execution"
	"github.com/teaclave-go/teaclave/execution/builtin"
	"github.com/teaclave-go/teaclave/execution/executor"
	"github.com/teaclave-go/teaclave/execution/fileagent"
	"github.com/teaclave-go/teaclave/execution/filecrypto"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// plainMarker is in every line of the large input's plaintext.
const plainMarker = "PLAINTEXT-LINE-"

// scanScratch is "test-scan-scratch": it copies input "in" to output
// "out" and then, while the task's files are open, reads every scratch
// file of this process under dir (through /proc/self/fd, since they are
// unlinked) and fails if any holds plaintext. It returns how many
// non-empty ones it found.
func scanScratch(dir string) builtin.Function {
	return builtin.Function{Name: "test-scan-scratch", Run: func(_ context.Context, _ json.RawMessage, rt executor.Runtime) (string, error) {
		r, err := rt.OpenInput("in")
		if err != nil {
			return "", err
		}
		plain, err := io.ReadAll(r)
		if err != nil {
			return "", err
		}
		if !bytes.Contains(plain, []byte(plainMarker)) {
			return "", errors.New("the input is not the test's")
		}
		w, err := rt.CreateOutput("out")
		if err != nil {
			return "", err
		}
		if _, err := w.Write(plain); err != nil {
			return "", err
		}
		if err := w.Close(); err != nil {
			return "", err
		}
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			return "", fmt.Errorf("cannot list open files: %w", err)
		}
		found := 0
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
			if err != nil || !strings.HasPrefix(target, filepath.Join(dir, "teaclave-scratch-")) {
				continue
			}
			if !strings.HasSuffix(target, " (deleted)") {
				return "", fmt.Errorf("scratch file %s is not unlinked", target)
			}
			sealed, err := os.ReadFile(filepath.Join("/proc/self/fd", fd.Name()))
			if err != nil {
				return "", err
			}
			if len(sealed) == 0 {
				continue
			}
			found++
			if bytes.Contains(sealed, []byte(plainMarker)) {
				return "", fmt.Errorf("plaintext in scratch file %s", target)
			}
		}
		return fmt.Sprintf("%d sealed scratch files", found), nil
	}}
}

// largeInput returns 300 KiB of plaintext lines and their
// teaclave-file-128 encryption under key, named name, with its cmac.
func largeInput(t *testing.T, key []byte, name string) (plain, enc, cmac []byte) {
	t.Helper()
	var b bytes.Buffer
	for i := 0; b.Len() < 300<<10; i++ {
		sum := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		fmt.Fprintf(&b, "%s%06d %x\n", plainMarker, i, sum)
	}
	plain = b.Bytes()
	f, err := os.Create(filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := must(filecrypto.NewWriter(f, filecrypto.CryptoInfo{Schema: filecrypto.SchemaTeaclaveFile128, Key: key}, filecrypto.WriterOptions{Name: name}))(t)
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	tag := must(w.Tag())(t)
	enc = must(os.ReadFile(f.Name()))(t)
	return plain, enc, tag.Bytes()
}

// TestPlaintextNeverOnDisk: with a memory budget of one byte every file
// of a task spills to scratch files. The test function, run on a 300 KiB
// teaclave-file-128 input served over HTTP, finds the task's scratch
// files open and unlinked, with none of the plaintext in them (the input
// decrypted, and the output it wrote); the output still reaches its owner
// encrypted and correct, and the scratch folder is empty afterwards.
func TestPlaintextNeverOnDisk(t *testing.T) {
	if _, err := os.ReadDir("/proc/self/fd"); err != nil {
		t.Skip("needs /proc/self/fd:", err)
	}
	inKey, outKey := bytes.Repeat([]byte{0x3a}, 16), bytes.Repeat([]byte{0x5c}, 16)
	plain, enc, inCmac := largeInput(t, inKey, "large.enc")
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "large.enc", time.Time{}, bytes.NewReader(enc))
	}))
	t.Cleanup(src.Close)

	p := newPlatform(t, platformOptions{noNode: true})
	scratchDir := t.TempDir()
	p.startNode(execution.Config{MemoryBudget: 1, ScratchDir: scratchDir, Files: fileagent.Config{Allow: []string{src.Listener.Addr().String()}}}, scanScratch(scratchDir))
	alice := p.as("alice")
	fn := p.registerFunction("carol", "test-scan-scratch", nil, []string{"in"}, []string{"out"})
	in := must(p.mgmt.RegisterInputFile(alice, &frontendpb.RegisterInputFileRequest{Url: src.URL + "/large.enc", Cmac: inCmac, CryptoInfo: &commonpb.FileCryptoInfo{Schema: "teaclave-file-128", Key: inKey}}))(t).GetDataId()
	out := must(p.mgmt.RegisterOutputFile(alice, &frontendpb.RegisterOutputFileRequest{Url: p.files.URL + "/upload/scan.enc", CryptoInfo: &commonpb.FileCryptoInfo{Schema: "teaclave-file-128", Key: outKey}}))(t).GetDataId()
	task := must(p.mgmt.CreateTask(alice, &frontendpb.CreateTaskRequest{
		FunctionId: fn, FunctionArguments: `{}`, Executor: "builtin",
		InputsOwnership:  []*frontendpb.OwnerList{{DataName: "in", Uids: []string{"alice"}}},
		OutputsOwnership: []*frontendpb.OwnerList{{DataName: "out", Uids: []string{"alice"}}},
	}))(t).GetTaskId()
	must(p.mgmt.AssignData(alice, &frontendpb.AssignDataRequest{TaskId: task,
		Inputs:  []*frontendpb.DataMap{{DataName: "in", DataId: in}},
		Outputs: []*frontendpb.DataMap{{DataName: "out", DataId: out}},
	}))(t)
	must(p.mgmt.InvokeTask(alice, &frontendpb.InvokeTaskRequest{TaskId: task}))(t)
	r := p.wait("alice", task)
	if r.GetStatus() != commonpb.TaskStatus_Finished {
		t.Fatalf("task %s %v", r.GetStatus(), r.GetResult())
	}
	// The input's plaintext and the output's at least (the downloaded
	// ciphertext is closed once decrypted).
	var n int
	if _, err := fmt.Sscanf(string(r.GetResult().GetOk().GetReturnValue()), "%d sealed scratch files", &n); err != nil || n < 2 {
		t.Fatalf("return value %q: the task's files did not spill", r.GetResult().GetOk().GetReturnValue())
	}
	cmac := must(p.mgmt.GetOutputFile(alice, &frontendpb.GetOutputFileRequest{DataId: out}))(t).GetCmac()
	up, ok := p.files.upload("scan.enc")
	if !ok {
		t.Fatal("output not uploaded")
	}
	if got := decrypt(t, up, filecrypto.CryptoInfo{Schema: filecrypto.SchemaTeaclaveFile128, Key: outKey}, "scan.enc", cmac); !bytes.Equal(got, plain) {
		t.Fatalf("output of %d bytes differs from the input's %d", len(got), len(plain))
	}
	if entries, _ := os.ReadDir(scratchDir); len(entries) != 0 {
		t.Fatalf("scratch folder holds %v", entries)
	}
}
