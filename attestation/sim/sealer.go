//go:build !teaclave_production

package sim

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/teaclave-go/teaclave/attestation"
)

// sealKeySize is the size of the simulated root seal key.
const sealKeySize = 32

// Sealer is the INSECURE simulated attestation.Sealer: its root secret is a
// random key file, created with mode 0600 on first use, so whoever can read
// the file (the host) can read everything sealed. Purpose keys are derived
// with attestation.DerivePurposeKey; the file's key is never handed out.
type Sealer struct {
	path   string
	logger *slog.Logger

	mu     sync.Mutex
	secret []byte
}

var _ attestation.Sealer = (*Sealer)(nil)

// NewSealer returns a sealer on the key file at path. Nothing is read or
// created until the first Key call.
func NewSealer(path string, logger *slog.Logger) *Sealer {
	if logger == nil {
		logger = slog.Default()
	}
	return &Sealer{path: path, logger: logger}
}

// Key returns the key for purpose, creating the key file if it does not
// exist. It refuses a key file that is not a regular file of exactly 32
// bytes with mode 0600.
func (s *Sealer) Key(ctx context.Context, purpose string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secret == nil {
		secret, err := s.load()
		if err != nil {
			return nil, err
		}
		s.logger.Warn(warning, "component", "sealer", "key_file", s.path)
		s.secret = secret
	}
	return attestation.DerivePurposeKey(s.secret, purpose)
}

func (s *Sealer) load() ([]byte, error) {
	secret, err := readKeyFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createKeyFile(s.path); err != nil {
			return nil, err
		}
		secret, err = readKeyFile(s.path)
	}
	return secret, err
}

func readKeyFile(path string) ([]byte, error) {
	if fi, err := os.Lstat(path); err != nil {
		return nil, fmt.Errorf("sim: seal key file: %w", err)
	} else if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("sim: seal key file %s is a symbolic link", path)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscallNoFollow, 0)
	if err != nil {
		return nil, fmt.Errorf("sim: seal key file: %w", err)
	}
	defer f.Close()
	// Check the file that was opened, not the name.
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("sim: seal key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("sim: seal key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		return nil, fmt.Errorf("sim: seal key file %s has mode %04o, want 0600", path, perm)
	}
	if fi.Size() != sealKeySize {
		return nil, fmt.Errorf("sim: seal key file %s has %d bytes, want %d", path, fi.Size(), sealKeySize)
	}
	secret := make([]byte, sealKeySize+1)
	n, err := io.ReadFull(f, secret)
	if n != sealKeySize || !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("sim: seal key file %s changed while reading", path)
	}
	return secret[:sealKeySize], nil
}

// createKeyFile writes a fresh key to a temporary file and links it into
// place, so that a concurrent creator or a crash never leaves a partial key
// behind: exactly one key wins, and everyone reads it.
func createKeyFile(path string) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".seal-key-*")
	if err != nil {
		return fmt.Errorf("sim: create seal key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("sim: create seal key file: %w", err)
	}
	key := make([]byte, sealKeySize)
	_, _ = rand.Read(key)
	if _, err := tmp.Write(key); err != nil {
		return fmt.Errorf("sim: write seal key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sim: write seal key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("sim: create seal key file: %w", err)
	}
	return nil
}
