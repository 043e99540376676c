//go:build !cgo

package sgx_test

import (
	"context"
	"errors"
	"testing"

	"github.com/teaclave-go/teaclave/attestation/sgx"
)

func TestUnsupportedWithoutCgo(t *testing.T) {
	if _, err := sgx.NewSealer().Key(context.Background(), "storage"); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Key = %v", err)
	}
	if _, err := sgx.NewQuoter().Quote(context.Background(), [64]byte{}); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Quote = %v", err)
	}
	if _, err := sgx.SelfMeasurement(context.Background()); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("SelfMeasurement = %v", err)
	}
}
