//go:build !teaclave_production

package sim_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/attestation/sim"
)

var _ attestation.Sealer = (*sim.Sealer)(nil)

func TestSealerCreatesKeyFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "seal.key")
	s := sim.NewSealer(path, quiet())
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("key file created before first use")
	}
	k1, err := s.Key(ctx, "storage")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() != 32 {
		t.Fatalf("key file mode %v size %d", fi.Mode(), fi.Size())
	}
	raw, _ := os.ReadFile(path)
	if len(k1) != 32 || bytes.Equal(k1, raw) {
		t.Fatal("purpose key is the raw key")
	}
	k2, _ := s.Key(ctx, "auth")
	if bytes.Equal(k1, k2) {
		t.Fatal("two purposes, one key")
	}
	// A new sealer on the same file (a restart) derives the same keys.
	again, err := sim.NewSealer(path, quiet()).Key(ctx, "storage")
	if err != nil || !bytes.Equal(again, k1) {
		t.Fatalf("key changed across sealers: %v", err)
	}
	// Another file, other keys.
	other, err := sim.NewSealer(filepath.Join(t.TempDir(), "seal.key"), quiet()).Key(ctx, "storage")
	if err != nil || bytes.Equal(other, k1) {
		t.Fatalf("two key files, one key: %v", err)
	}
	if _, err := s.Key(ctx, ""); err == nil {
		t.Fatal("empty purpose accepted")
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestSealerConcurrentFirstUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seal.key")
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := sim.NewSealer(path, quiet()).Key(context.Background(), "p")
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !bytes.Equal(k, keys[0]) {
			t.Fatal("concurrent first use produced different keys")
		}
	}
}

func TestSealerRefusesBadKeyFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	good := make([]byte, 32)
	good[0] = 1
	write := func(name string, data []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(write("target", good, 0o600), link); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "dir")
	os.Mkdir(sub, 0o700)
	for name, path := range map[string]string{
		"world-readable": write("r", good, 0o644),
		"group-readable": write("g", good, 0o640),
		"read-only":      write("ro", good, 0o400),
		"short":          write("s", good[:31], 0o600),
		"long":           write("l", append(good, 0), 0o600),
		"empty":          write("e", nil, 0o600),
		"symlink":        link,
		"directory":      sub,
	} {
		if _, err := sim.NewSealer(path, quiet()).Key(ctx, "storage"); err == nil {
			t.Errorf("%s key file accepted", name)
		}
	}
	if k, err := sim.NewSealer(filepath.Join(dir, "target"), quiet()).Key(ctx, "storage"); err != nil || len(k) != 32 {
		t.Fatalf("good key file refused: %v", err)
	}
	if _, err := sim.NewSealer(filepath.Join(dir, "missing", "seal.key"), quiet()).Key(ctx, "storage"); err == nil {
		t.Fatal("key file in a missing folder")
	}
}
