package attestation_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/teaclave-go/teaclave/attestation"
)

// dcapQuote builds an SGX ECDSA quote in the documented layout around a
// 432-byte body: the body, the signature data length, then signature data
// shaped like a real one (ECDSA signature, attestation key, QE report, QE
// report signature, QE authentication data, certification data of type 5
// with a PEM chain).
func dcapQuote(body []byte) []byte {
	var sig bytes.Buffer
	sig.Write(bytes.Repeat([]byte{0x51}, 64))  // ISV enclave report signature
	sig.Write(bytes.Repeat([]byte{0x52}, 64))  // ECDSA attestation key
	sig.Write(bytes.Repeat([]byte{0x53}, 384)) // QE report body
	sig.Write(bytes.Repeat([]byte{0x54}, 64))  // QE report signature
	binary.Write(&sig, binary.LittleEndian, uint16(32))
	sig.Write(bytes.Repeat([]byte{0x55}, 32)) // QE authentication data
	chain := []byte("-----BEGIN CERTIFICATE-----\nMIIE...\n-----END CERTIFICATE-----\n")
	binary.Write(&sig, binary.LittleEndian, uint16(5)) // PCK certificate chain
	binary.Write(&sig, binary.LittleEndian, uint32(len(chain)))
	sig.Write(chain)
	q := bytes.Clone(body)
	q = binary.LittleEndian.AppendUint32(q, uint32(sig.Len()))
	return append(q, sig.Bytes()...)
}

// fixtureQuoteBody is the quote body of Teaclave's v4 fixture certificate,
// a real DCAP quote body (version 3, key type 2).
func fixtureQuoteBody(t testing.TB) []byte {
	t.Helper()
	c, err := attestation.ParseCertificate(readFixture(t, "tls_ra_cert_v4.der"))
	if err != nil {
		t.Fatal(err)
	}
	sr, err := attestation.ParseServiceReport(c.Evidence.Report)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sr.Quote.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOEReportHeaderLayout(t *testing.T) {
	body := fixtureQuoteBody(t)
	quote := dcapQuote(body)
	rep := attestation.MarshalOEReport(quote)
	le := binary.LittleEndian
	if len(rep) != 16+len(quote) || le.Uint32(rep[0:]) != 1 || le.Uint32(rep[4:]) != 2 || le.Uint64(rep[8:]) != uint64(len(quote)) {
		t.Fatalf("header % x", rep[:16])
	}
	r, err := attestation.ParseOEReport(rep)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Quote, quote) || r.Version != 1 || r.Type != 2 {
		t.Fatal("quote not the bytes after the header")
	}
	got, err := attestation.QuoteBodyFromOEReport(rep)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body) {
		t.Fatal("quote body is not the first 432 bytes of the quote")
	}
	// The parsed body is the fixture's: mr_enclave at 112, mr_signer at 176,
	// report data at 368 of the quote, i.e. 16 more in the OE report.
	if !bytes.Equal(r.Body.MREnclave[:], rep[16+112:16+144]) || !bytes.Equal(r.Body.MRSigner[:], rep[16+176:16+208]) ||
		!bytes.Equal(r.Body.ReportData[:], rep[16+368:16+432]) {
		t.Fatal("fields at the wrong offsets")
	}
	if r.Body.Version != 3 || r.Body.SignType != 2 || r.Body.QESVN != 7 || r.Body.PCESVN != 12 {
		t.Fatalf("fixture body %+v", r.Body)
	}
	// The minimal quote: no signature data.
	min := attestation.MarshalOEReport(binary.LittleEndian.AppendUint32(bytes.Clone(body), 0))
	if _, err := attestation.ParseOEReport(min); err != nil {
		t.Fatalf("minimal quote: %v", err)
	}
}

func TestOEReportRefusals(t *testing.T) {
	body := fixtureQuoteBody(t)
	good := attestation.MarshalOEReport(dcapQuote(body))
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	le := binary.LittleEndian
	epid := bytes.Clone(body)
	le.PutUint16(epid[0:], 2)
	le.PutUint16(epid[2:], 1)
	cases := map[string][]byte{
		"empty":               nil,
		"short header":        good[:15],
		"header only":         good[:16],
		"header version 0":    edit(func(b []byte) []byte { le.PutUint32(b[0:], 0); return b }),
		"header version 2":    edit(func(b []byte) []byte { le.PutUint32(b[0:], 2); return b }),
		"local report":        edit(func(b []byte) []byte { le.PutUint32(b[4:], 1); return b }),
		"unknown type":        edit(func(b []byte) []byte { le.PutUint32(b[4:], 7); return b }),
		"truncated":           good[:len(good)-1],
		"truncated in body":   good[:16+200],
		"size too large":      edit(func(b []byte) []byte { le.PutUint64(b[8:], uint64(len(b))); return b }),
		"size overflows":      edit(func(b []byte) []byte { le.PutUint64(b[8:], ^uint64(0)); return b }),
		"trailing bytes":      append(bytes.Clone(good), 0),
		"size zero":           edit(func(b []byte) []byte { le.PutUint64(b[8:], 0); return b[:16] }),
		"quote without len":   attestation.MarshalOEReport(body),
		"signature too long":  edit(func(b []byte) []byte { le.PutUint32(b[16+432:], le.Uint32(b[16+432:])+1); return b }),
		"signature too short": edit(func(b []byte) []byte { le.PutUint32(b[16+432:], le.Uint32(b[16+432:])-1); return b }),
		"signature len huge":  edit(func(b []byte) []byte { le.PutUint32(b[16+432:], ^uint32(0)); return b }),
		"bad key type":        edit(func(b []byte) []byte { le.PutUint16(b[16+2:], 9); return b }),
		"EPID quote":          attestation.MarshalOEReport(dcapQuote(epid)),
		"oversized":           attestation.MarshalOEReport(dcapQuote(append(bytes.Clone(body), make([]byte, attestation.MaxQuoteSize)...))),
	}
	for name, b := range cases {
		if _, err := attestation.ParseOEReport(b); !errors.Is(err, attestation.ErrMalformedReport) {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := attestation.QuoteBodyFromOEReport(b); err == nil {
			t.Errorf("%s: body extracted", name)
		}
	}
	if _, err := attestation.ParseOEReport(good); err != nil {
		t.Fatal(err)
	}
}

// FuzzParseOEReport: the parser never panics, and what it accepts has the
// declared layout and re-marshals to the same bytes.
func FuzzParseOEReport(f *testing.F) {
	body := fixtureQuoteBody(f)
	f.Add(attestation.MarshalOEReport(dcapQuote(body)))
	f.Add(attestation.MarshalOEReport(binary.LittleEndian.AppendUint32(bytes.Clone(body), 0)))
	f.Add(make([]byte, 16))
	f.Add([]byte{1, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := attestation.ParseOEReport(data)
		if err != nil {
			if !errors.Is(err, attestation.ErrMalformedReport) {
				t.Fatalf("error without ErrMalformedReport: %v", err)
			}
			return
		}
		if len(r.Quote) < attestation.MinSGXQuoteSize || len(data) > attestation.MaxQuoteSize {
			t.Fatalf("accepted a %d-byte quote", len(r.Quote))
		}
		if !bytes.Equal(attestation.MarshalOEReport(r.Quote), data) {
			t.Fatal("round trip differs")
		}
		b, err := r.Body.MarshalBinary()
		if err != nil || !bytes.Equal(b, r.Quote[:attestation.QuoteBodySize]) {
			t.Fatalf("body round trip: %v", err)
		}
	})
}
