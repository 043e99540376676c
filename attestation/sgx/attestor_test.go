package sgx_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/attestation/sgx"
)

type countingEndorser struct{ calls atomic.Int32 }

func (c *countingEndorser) Endorse(context.Context, []byte) (*attestation.EndorsedReport, error) {
	c.calls.Add(1)
	return nil, context.Canceled
}

// TestAttestorNeedsSGX: here (no SGX) attestation fails at the quote, and
// nothing is sent to the endorser.
func TestAttestorNeedsSGX(t *testing.T) {
	if _, err := sgx.NewAttestor(nil, time.Hour); err == nil {
		t.Fatal("attestor without an endorser")
	}
	if _, err := sgx.NewAttestor(&countingEndorser{}, 0); err == nil {
		t.Fatal("attestor without a report age")
	}
	e := &countingEndorser{}
	a, err := sgx.NewAttestor(e, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Attest(context.Background()); err == nil {
		t.Fatal("attested without SGX")
	}
	if e.calls.Load() != 0 {
		t.Fatal("endorser called without a quote")
	}
}
