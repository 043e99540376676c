package attestation_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/teaclave-go/teaclave/attestation"
)

func FuzzParseEndorsedReport(f *testing.F) {
	v4, err := attestation.ParseCertificate(readFixture(f, "tls_ra_cert_v4.der"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(v4.Leaf.Extensions[0].Value)
	f.Add([]byte(`{"report":[],"signature":[],"certs":[]}`))
	f.Add([]byte(`{"report":[1,2],"signature":[3],"signing_cert":[4]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := attestation.ParseEndorsedReport(data)
		if err != nil {
			return
		}
		back, err := attestation.ParseEndorsedReport(e.Marshal())
		if err != nil {
			t.Fatalf("re-parse of Marshal: %v", err)
		}
		if !bytes.Equal(back.Report, e.Report) || !bytes.Equal(back.Signature, e.Signature) || len(back.Certs) != len(e.Certs) {
			t.Fatal("round trip differs")
		}
	})
}

func FuzzParseServiceReport(f *testing.F) {
	f.Add(fixtureReport(f, "tls_ra_cert_v4.der"))
	f.Add(fixtureReport(f, "tls_ra_cert_v3.der"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := attestation.ParseServiceReport(data)
		if err != nil {
			return
		}
		out, err := r.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed report: %v", err)
		}
		back, err := attestation.ParseServiceReport(out)
		if err != nil {
			t.Fatalf("re-parse of Marshal: %v", err)
		}
		if back.ID != r.ID || back.Status != r.Status || !back.Timestamp.Equal(r.Timestamp) || back.Quote != r.Quote {
			t.Fatal("round trip differs")
		}
	})
}

func FuzzParseEnclaveInfo(f *testing.F) {
	f.Add(infoBytes(f))
	f.Add([]byte("[teaclave_frontend_service]\nmr_enclave = \"" + v4MREnclave + "\"\nmr_signer  = \"" + v4MRSigner + "\"\n"))
	f.Add([]byte("[a]\nb = 1\n[[c]]\nd = [1, \"x\", {e = 2}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := attestation.ParseEnclaveInfo(data)
		if err != nil {
			return
		}
		out, err := attestation.MarshalEnclaveInfo(info.Measurements())
		if err != nil {
			t.Fatalf("Marshal of parsed info: %v", err)
		}
		back, err := attestation.ParseEnclaveInfo(out)
		if err != nil {
			t.Fatalf("re-parse of Marshal: %v\n%s", err, out)
		}
		for s, m := range info.Measurements() {
			if got, ok := back.Lookup(m); !ok || !slices.Contains(got, s) {
				t.Fatalf("round trip lost %s", s)
			}
		}
	})
}

func FuzzParseCertificate(f *testing.F) {
	f.Add(readFixture(f, "tls_ra_cert_v4.der"))
	f.Add(readFixture(f, "tls_ra_cert_v3.der"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := attestation.ParseCertificate(data)
		if err != nil {
			return
		}
		if c.Evidence == nil || c.Leaf == nil {
			t.Fatal("parsed certificate without evidence")
		}
	})
}

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"2022-01-17T22:07:49.022259677", "2020-02-14T21:28:25.813157", "2022-01-17T22:07:49"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := attestation.ParseTimestamp(s)
		if err != nil {
			return
		}
		back, err := attestation.ParseTimestamp(attestation.FormatTimestamp(ts))
		if err != nil || !back.Equal(ts) {
			t.Fatalf("%q: round trip %v %v", s, back, err)
		}
	})
}
