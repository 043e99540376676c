package endorser_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
)

// FuzzEndorse: whatever the bytes, the endorser never panics; it refuses
// with InvalidArgument or signs a report whose body is the first 432 bytes
// of the quote after the Open Enclave header.
func FuzzEndorse(f *testing.F) {
	var rd [64]byte
	good := oeReport(f, testBody(rd))
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(good[16:])
	f.Add([]byte{1, 0, 0, 0, 2, 0, 0, 0, 0xb4, 1, 0, 0, 0, 0, 0, 0})
	s := newService(f, &stubVerifier{})
	f.Fuzz(func(t *testing.T, quote []byte) {
		ev, err := s.Endorse(context.Background(), quote)
		if err != nil {
			if teaclave.KindOf(err) != teaclave.KindInvalidArgument {
				t.Fatalf("refusal of kind %v: %v", teaclave.KindOf(err), err)
			}
			return
		}
		sr, err := attestation.ParseServiceReport(ev.Report)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := sr.Quote.MarshalBinary()
		if !bytes.Equal(body, quote[16:16+attestation.QuoteBodySize]) {
			t.Fatal("signed body is not the quote's")
		}
	})
}

func BenchmarkEndorse(b *testing.B) {
	_, rd := newKey(b)
	quote := oeReport(b, testBody(rd))
	s := newService(b, &stubVerifier{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Endorse(ctx, quote); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseOEReport(b *testing.B) {
	var rd [64]byte
	quote := oeReport(b, testBody(rd))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := attestation.ParseOEReport(quote); err != nil {
			b.Fatal(err)
		}
	}
}
