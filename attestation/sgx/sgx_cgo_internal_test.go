//go:build cgo

package sgx

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

func TestSealerRefusesZeroKey(t *testing.T) {
	s := newSealer(func() error { return nil }, func() ([]byte, error) { return make([]byte, 16), nil })
	if _, err := s.Key(context.Background(), "storage"); !errors.Is(err, ErrZeroSealKey) {
		t.Fatalf("all-zero seal key: %v", err)
	}
}

func TestSealerNeedsEnclave(t *testing.T) {
	asked := false
	s := newSealer(func() error { return errors.New("OE_UNSUPPORTED") },
		func() ([]byte, error) { asked = true; return bytes.Repeat([]byte{7}, 16), nil })
	if _, err := s.Key(context.Background(), "storage"); err == nil {
		t.Fatal("sealer worked without proving it runs in an enclave")
	}
	if asked {
		t.Fatal("seal key requested before the enclave check")
	}
}

func TestSealerDerivesPurposeKeys(t *testing.T) {
	raw := bytes.Repeat([]byte{7}, 16)
	s := newSealer(func() error { return nil }, func() ([]byte, error) { return bytes.Clone(raw), nil })
	a, err := s.Key(context.Background(), "storage")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Key(context.Background(), "auth")
	a2, _ := s.Key(context.Background(), "storage")
	if len(a) != 32 || bytes.Equal(a, b) || !bytes.Equal(a, a2) || bytes.Contains(a, raw) {
		t.Fatal("purpose keys not derived")
	}
}

// TestOutsideEnclave runs EGo's real calls here, outside an enclave: both
// must fail (EGo itself would hand out an all-zero seal key).
func TestOutsideEnclave(t *testing.T) {
	if _, err := NewSealer().Key(context.Background(), "storage"); err == nil {
		t.Fatal("SGX sealer works outside an enclave")
	}
	if _, err := NewQuoter().Quote(context.Background(), [64]byte{1}); err == nil {
		t.Fatal("SGX quote outside an enclave")
	}
}

// TestSelfMeasurementOutsideEnclave: EGo's self report fails here, outside
// an enclave, and SelfMeasurement says so instead of returning zeros.
func TestSelfMeasurementOutsideEnclave(t *testing.T) {
	if m, err := SelfMeasurement(context.Background()); err == nil {
		t.Fatalf("self measurement outside an enclave: %v", m)
	}
}
