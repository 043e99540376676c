//go:build unix

package fileagent_test

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/execution/fileagent"
)

// TestFIFOUnderRoot: a named pipe under a file root is refused at once;
// opening it for reading would otherwise wait for a writer forever.
func TestFIFOUnderRoot(t *testing.T) {
	root := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(root, "pipe"), 0o600); err != nil {
		t.Skip("cannot make a FIFO here:", err)
	}
	a := newAgent(t, fileagent.Config{FileRoots: []string{root}}, fileagent.Deps{})
	done := make(chan error, 1)
	go func() { done <- a.Download(ctx(t), "file://"+root+"/pipe", newBuffer(t)) }()
	select {
	case err := <-done:
		wantError(t, err, "download", "not a regular file file")
	case <-time.After(20 * time.Second):
		t.Fatal("download of a FIFO blocked")
	}
}
