package endorser_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/binary"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/attestation/endorser"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Identities are generated once per test binary (RSA 2048 in tests).
var identities = sync.OnceValue(func() [2]*endorser.Identity {
	var out [2]*endorser.Identity
	for i := range out {
		id, err := endorser.NewIdentity(endorser.IdentityOptions{KeyBits: 2048})
		if err != nil {
			panic(err)
		}
		out[i] = id
	}
	return out
})

// testBody returns a DCAP quote body (version 3, P-256 key type) for a
// release enclave whose report data is rd.
func testBody(rd [64]byte) attestation.QuoteBody {
	b := attestation.QuoteBody{Version: 3, SignType: 2, QESVN: 7, PCESVN: 12, ISVProdID: 1, ISVSVN: 3, ReportData: rd}
	for i := range b.MREnclave {
		b.MREnclave[i] = byte(i)
		b.MRSigner[i] = byte(0x80 + i)
	}
	binary.LittleEndian.PutUint64(b.Attributes[:8], attestation.AttributeInit|attestation.AttributeMode64Bit)
	return b
}

// oeReport wraps body in an SGX quote with signature data and an Open
// Enclave report header, as enclave.GetRemoteReport returns it.
func oeReport(t testing.TB, body attestation.QuoteBody) []byte {
	t.Helper()
	raw, err := body.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	sig := bytes.Repeat([]byte{0x5a}, 64+64+384+64+2+32+6+100)
	quote := binary.LittleEndian.AppendUint32(raw, uint32(len(sig)))
	return attestation.MarshalOEReport(append(quote, sig...))
}

// stubVerifier stands in for EGo's VerifyRemoteReport: it trusts the
// report's claims and returns its configured status or error.
type stubVerifier struct {
	status string
	err    error
	mutate func(*endorser.Verdict)
	calls  atomic.Int32
}

func (s *stubVerifier) VerifyQuote(ctx context.Context, report []byte) (endorser.Verdict, error) {
	s.calls.Add(1)
	if s.err != nil {
		return endorser.Verdict{}, s.err
	}
	r, err := attestation.ParseOEReport(report)
	if err != nil {
		return endorser.Verdict{}, err
	}
	b := r.Body
	v := endorser.Verdict{Status: s.status, MREnclave: b.MREnclave, MRSigner: b.MRSigner, ISVProdID: b.ISVProdID,
		ISVSVN: b.ISVSVN, Debug: b.Debug(), ReportData: b.ReportData}
	if v.Status == "" {
		v.Status = attestation.StatusOK
	}
	if s.mutate != nil {
		s.mutate(&v)
	}
	return v, nil
}

// fixedNow dates reports: a minute ago (identities are valid from an hour
// before their creation).
var fixedNow = time.Now().UTC().Add(-time.Minute)

func newService(t testing.TB, v endorser.QuoteVerifier) *endorser.Service {
	t.Helper()
	s, err := endorser.New(endorser.Config{Identity: identities()[0], Verifier: v, Logger: quiet(), Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func policyFor(t testing.TB, id *endorser.Identity) *attestation.Policy {
	t.Helper()
	p := &attestation.Policy{
		Roots:            []attestation.Root{id.PolicyRoot(false)},
		AcceptedStatuses: attestation.SGXStatuses(),
		MaxReportAge:     time.Hour,
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

func newKey(t testing.TB) (*ecdsa.PrivateKey, [64]byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := attestation.ReportData(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, rd
}
