//go:build cgo

package endorser

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"testing"

	egoattestation "github.com/edgelesssys/ego/attestation"
	"github.com/edgelesssys/ego/attestation/tcbstatus"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
)

// egoReport returns the claims EGo's VerifyRemoteReport gives for body.
func egoReport(body *attestation.QuoteBody, s tcbstatus.Status) egoattestation.Report {
	pid := make([]byte, 16)
	binary.LittleEndian.PutUint16(pid, body.ISVProdID)
	return egoattestation.Report{
		Data: bytes.Clone(body.ReportData[:]), SecurityVersion: uint(body.ISVSVN), Debug: body.Debug(),
		UniqueID: bytes.Clone(body.MREnclave[:]), SignerID: bytes.Clone(body.MRSigner[:]), ProductID: pid, TCBStatus: s,
	}
}

func testQuote(t *testing.T) ([]byte, *attestation.QuoteBody) {
	t.Helper()
	b := attestation.QuoteBody{Version: 3, SignType: 2, ISVProdID: 0x0102, ISVSVN: 5}
	b.MREnclave[0], b.MRSigner[0], b.ReportData[63] = 1, 2, 3
	binary.LittleEndian.PutUint64(b.Attributes[:8], attestation.AttributeInit|attestation.AttributeMode64Bit)
	raw, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return attestation.MarshalOEReport(binary.LittleEndian.AppendUint32(raw, 0)), &b
}

func TestVerdictFromEGo(t *testing.T) {
	_, body := testQuote(t)
	for name, tc := range map[string]struct {
		tcb    tcbstatus.Status
		err    error
		status string
		want   error
	}{
		"up to date":         {tcbstatus.UpToDate, nil, attestation.StatusOK, nil},
		"no status claim":    {tcbstatus.Unknown, nil, attestation.StatusOK, nil},
		"sw hardening":       {tcbstatus.SWHardeningNeeded, egoattestation.ErrTCBLevelInvalid, attestation.StatusSWHardeningNeeded, nil},
		"out of date":        {tcbstatus.OutOfDate, egoattestation.ErrTCBLevelInvalid, attestation.StatusOutOfDate, nil},
		"revoked":            {tcbstatus.Revoked, egoattestation.ErrTCBLevelInvalid, attestation.StatusKeyRevoked, nil},
		"tcb unknown":        {tcbstatus.Unknown, egoattestation.ErrTCBLevelInvalid, attestation.StatusUnspecified, nil},
		"bad signature":      {tcbstatus.UpToDate, errors.New("OE_VERIFY_FAILED"), "", ErrQuoteRejected},
		"expired collateral": {tcbstatus.UpToDate, errors.New("OE_VERIFY_FAILED_AES_CMAC_MISMATCH"), "", ErrQuoteRejected},
		"quote provider":     {tcbstatus.UpToDate, errors.New("OE_QUOTE_PROVIDER_CALL_ERROR"), "", ErrUnavailable},
		"no quote provider":  {tcbstatus.UpToDate, errors.New("OE_QUOTE_PROVIDER_LOAD_ERROR"), "", ErrUnavailable},
	} {
		v, err := verdictFromEGo(egoReport(body, tc.tcb), tc.err)
		if tc.want != nil {
			if !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", name, err, tc.want)
			}
			continue
		}
		if err != nil || v.Status != tc.status {
			t.Errorf("%s: %q %v, want %q", name, v.Status, err, tc.status)
			continue
		}
		if checkVerdict(v, body) != nil || v.ISVProdID != 0x0102 || v.ISVSVN != 5 {
			t.Errorf("%s: claims %+v", name, v)
		}
	}
	r := egoReport(body, tcbstatus.UpToDate)
	r.UniqueID = r.UniqueID[:31]
	if _, err := verdictFromEGo(r, nil); !errors.Is(err, ErrQuoteRejected) {
		t.Fatalf("short unique id: %v", err)
	}
	r = egoReport(body, tcbstatus.UpToDate)
	r.SecurityVersion = 1 << 16
	if _, err := verdictFromEGo(r, nil); !errors.Is(err, ErrQuoteRejected) {
		t.Fatalf("svn out of range: %v", err)
	}
}

// TestEGoVerifierInService runs the EGo verifier's mapping inside the
// service with VerifyRemoteReport replaced (the real one needs SGX).
func TestEGoVerifierInService(t *testing.T) {
	quote, body := testQuote(t)
	id, err := NewIdentity(IdentityOptions{KeyBits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	v := &EGoVerifier{verify: func(b []byte) (egoattestation.Report, error) {
		got = b
		return egoReport(body, tcbstatus.SWHardeningNeeded), egoattestation.ErrTCBLevelInvalid
	}}
	s, err := New(Config{Identity: id, Verifier: v, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := s.Endorse(context.Background(), quote)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, quote) {
		t.Fatal("VerifyRemoteReport did not get the whole Open Enclave report")
	}
	sr, err := attestation.ParseServiceReport(ev.Report)
	if err != nil || sr.Status != attestation.StatusSWHardeningNeeded || sr.Quote != *body {
		t.Fatalf("%+v %v", sr, err)
	}
	// Claims about another enclave than the quote body are refused.
	v.verify = func([]byte) (egoattestation.Report, error) {
		r := egoReport(body, tcbstatus.UpToDate)
		r.UniqueID[5] ^= 1
		return r, nil
	}
	if _, err := s.Endorse(context.Background(), quote); teaclave.KindOf(err) != teaclave.KindInternal {
		t.Fatalf("mismatching claims: %v", err)
	}
}

// TestEGoVerifierOutsideEnclave: here, without SGX, the real verifier
// refuses to start.
func TestEGoVerifierOutsideEnclave(t *testing.T) {
	if _, err := NewEGoVerifier(); err == nil {
		t.Fatal("EGo verifier outside an enclave")
	}
}
