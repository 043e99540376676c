package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"

	"golang.org/x/crypto/argon2"

	"github.com/teaclave-go/teaclave"
)

const (
	saltLen = 16
	hashLen = 32
	// algArgon2id names the hash algorithm in stored records.
	algArgon2id = "argon2id"
)

// passwordHash is a stored password hash with the parameters it was made
// with.
type passwordHash struct {
	Alg       string `json:"alg"`
	Version   int    `json:"v"`
	Time      uint32 `json:"t"`
	MemoryKiB uint32 `json:"m"`
	Threads   uint8  `json:"p"`
	Salt      []byte `json:"salt"`
	Hash      []byte `json:"hash"`
}

// hasher computes argon2id hashes, at most cap(sem) at a time.
type hasher struct {
	params PasswordParams
	sem    chan struct{}
	// dummy is a hash of a random password, verified against when a login
	// names an unknown user so that the answer takes as long as for a
	// known one.
	dummy passwordHash
}

func newHasher(p PasswordParams, concurrency int) (*hasher, error) {
	h := &hasher{params: p, sem: make(chan struct{}, concurrency)}
	var pw [16]byte
	if _, err := rand.Read(pw[:]); err != nil {
		return nil, err
	}
	d, err := h.hashNoWait(string(pw[:]))
	if err != nil {
		return nil, err
	}
	h.dummy = d
	return h, nil
}

func (h *hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return teaclave.Wrap(teaclave.KindOf(ctx.Err()), "waiting to check a password: "+ctx.Err().Error(), ctx.Err())
	}
}

func (h *hasher) release() { <-h.sem }

// hash makes a new hash of pw with a fresh salt.
func (h *hasher) hash(ctx context.Context, pw string) (passwordHash, error) {
	if err := h.acquire(ctx); err != nil {
		return passwordHash{}, err
	}
	defer h.release()
	return h.hashNoWait(pw)
}

func (h *hasher) hashNoWait(pw string) (passwordHash, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return passwordHash{}, errInternal(err)
	}
	p := h.params
	return passwordHash{
		Alg:       algArgon2id,
		Version:   argon2.Version,
		Time:      p.Time,
		MemoryKiB: p.MemoryKiB,
		Threads:   p.Threads,
		Salt:      salt,
		Hash:      argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, hashLen),
	}, nil
}

// verify reports whether pw matches ph, comparing in constant time. A
// malformed or out-of-bounds stored hash is an error, never a match.
func (h *hasher) verify(ctx context.Context, ph passwordHash, pw string) (bool, error) {
	p := PasswordParams{Time: ph.Time, MemoryKiB: ph.MemoryKiB, Threads: ph.Threads}
	if ph.Alg != algArgon2id || ph.Version != argon2.Version || len(ph.Salt) != saltLen || len(ph.Hash) != hashLen ||
		p.Time < 1 || p.Time > maxPasswordTime || p.Threads < 1 || p.Threads > maxPasswordThreads ||
		p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxPasswordMemory {
		return false, errInternal(errors.New("malformed stored password hash"))
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	got := argon2.IDKey([]byte(pw), ph.Salt, p.Time, p.MemoryKiB, p.Threads, hashLen)
	return subtle.ConstantTimeCompare(got, ph.Hash) == 1, nil
}

// randomPassword returns a fresh password in Teaclave's reset format: 32
// lowercase hex digits (Teaclave used a UUIDv4's simple form; this is 128
// random bits in the same shape).
func randomPassword() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", errInternal(err)
	}
	return hex.EncodeToString(b[:]), nil
}
