package attestation_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
)

func fixtureReport(t testing.TB, name string) []byte {
	t.Helper()
	if name == "tls_ra_cert_v3.der" {
		return v3Payload(t).Report
	}
	c, err := attestation.ParseCertificate(readFixture(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return c.Evidence.Report
}

func TestServiceReportFixtureRoundTrip(t *testing.T) {
	raw := fixtureReport(t, "tls_ra_cert_v4.der")
	sr, err := attestation.ParseServiceReport(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := sr.Quote
	if q.Version != 3 || q.SignType != 2 || q.QESVN != 7 || q.PCESVN != 12 ||
		hex.EncodeToString(q.QEVendorID[:]) != "939a7233f79c4ca9940a0db3957f0607" ||
		hex.EncodeToString(q.MREnclave[:]) != v4MREnclave || hex.EncodeToString(q.MRSigner[:]) != v4MRSigner ||
		q.ISVProdID != 0 || q.ISVSVN != 0 || !q.Debug() {
		t.Fatalf("quote body %+v", q)
	}
	// Our encoder writes the DCAP reference server's bytes exactly.
	out, err := sr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, raw) {
		t.Fatalf("Marshal:\n%s\nwant\n%s", out, raw)
	}
}

func TestQuoteBodyRoundTrip(t *testing.T) {
	for _, name := range []string{"tls_ra_cert_v4.der", "tls_ra_cert_v3.der"} {
		raw := fixtureReport(t, name)
		i := bytes.Index(raw, []byte(`"isvEnclaveQuoteBody":"`)) + len(`"isvEnclaveQuoteBody":"`)
		body, err := base64.StdEncoding.DecodeString(string(raw[i : i+576]))
		if err != nil {
			t.Fatal(err)
		}
		q, err := attestation.ParseQuoteBody(body)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out, err := q.MarshalBinary()
		if err != nil || !bytes.Equal(out, body) {
			t.Fatalf("%s: round trip differs (%v)", name, err)
		}
		if name == "tls_ra_cert_v3.der" && (q.Version != 2 || q.SignType != 1 || q.QESVN != 10 || q.PCESVN != 9 ||
			hex.EncodeToString(q.EPIDGroup[:]) != "2f0b0000") {
			t.Fatalf("v3 quote body %+v", q)
		}
		// Bytes 368..431 are the certificate key's X‖Y in both fixtures.
		leafKey := fixtureKey(t, name)
		if q.ReportData != leafKey {
			t.Fatalf("%s: report data is not the certificate key", name)
		}
	}
	good, _ := (&attestation.QuoteBody{Version: 3, SignType: 2}).MarshalBinary()
	for _, tc := range []struct {
		name  string
		patch func(b []byte) []byte
	}{
		{"short", func(b []byte) []byte { return b[:431] }},
		{"long", func(b []byte) []byte { return append(b, 0) }},
		{"version 4", func(b []byte) []byte { b[0] = 4; return b }},
		{"ECDSA key type 1", func(b []byte) []byte { b[2] = 1; return b }},
		{"EPID sign type 2", func(b []byte) []byte { b[0], b[2] = 2, 2; return b }},
		{"version 0", func(b []byte) []byte { b[0] = 0; return b }},
	} {
		_, err := attestation.ParseQuoteBody(tc.patch(bytes.Clone(good)))
		assertRefused(t, err, attestation.ErrMalformedReport)
	}
}

func fixtureKey(t testing.TB, name string) [64]byte {
	t.Helper()
	leaf, err := parseLeaf(readFixture(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

func TestParseTimestamp(t *testing.T) {
	base := time.Date(2022, 1, 17, 22, 7, 49, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		nsec int
	}{
		{"2022-01-17T22:07:49", 0},
		{"2022-01-17T22:07:49.1", 100000000},
		{"2022-01-17T22:07:49.813157", 813157000},
		{"2022-01-17T22:07:49.022259677", 22259677},
		{"2022-01-17T22:07:49.000000001", 1},
	} {
		got, err := attestation.ParseTimestamp(tc.in)
		if err != nil || !got.Equal(base.Add(time.Duration(tc.nsec))) {
			t.Errorf("%s: %v %v", tc.in, got, err)
		}
	}
	for _, in := range []string{
		"", "2022-01-17", "2022-01-17T22:07:49.", "2022-01-17T22:07:49.0222596770", "2022-01-17T22:07:49Z",
		"2022-01-17T22:07:49+00:00", "2022-01-17 22:07:49", "2022-13-17T22:07:49", "2022-02-30T22:07:49",
		"2022-01-17T24:07:49", "2022-01-17T22:60:49", "2022-01-17T22:07:60", "2022-01-17T22:07:49.12a",
		"+022-01-17T22:07:49", "2022-1-17T22:07:49", "2022-01-17T22:07:49.-1",
	} {
		if _, err := attestation.ParseTimestamp(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
	ts := time.Date(2024, 2, 29, 1, 2, 3, 4, time.UTC)
	if got, err := attestation.ParseTimestamp(attestation.FormatTimestamp(ts)); err != nil || !got.Equal(ts) {
		t.Fatalf("round trip %v %v", got, err)
	}
}

func TestParseServiceReportStrict(t *testing.T) {
	qb, err := (&attestation.QuoteBody{Version: 3, SignType: 2}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	body := base64.StdEncoding.EncodeToString(qb)
	rep := func(version, extra string) []byte {
		return []byte(`{"id":"a","isvEnclaveQuoteBody":"` + body + `","isvEnclaveQuoteStatus":"OK","timestamp":"2022-01-17T22:07:49.022259677"` + version + extra + `}`)
	}
	if _, err := attestation.ParseServiceReport(rep(`,"version":4`, `,"advisoryIDs":["INTEL-SA-1"]`)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"version 3", rep(`,"version":3`, ""), attestation.ErrReportVersion},
		{"version 5", rep(`,"version":5`, ""), attestation.ErrReportVersion},
		{"version 40", rep(`,"version":40`, ""), attestation.ErrReportVersion},
		{"version missing", rep("", ""), attestation.ErrMalformedReport},
		{"version string", rep(`,"version":"4"`, ""), attestation.ErrMalformedReport},
		{"version float", rep(`,"version":4.0`, ""), attestation.ErrMalformedReport},
		{"version exponent", rep(`,"version":4e0`, ""), attestation.ErrMalformedReport},
		{"version negative", rep(`,"version":-4`, ""), attestation.ErrMalformedReport},
		{"version null", rep(`,"version":null`, ""), attestation.ErrMalformedReport},
		{"duplicate version", rep(`,"version":4`, `,"version":4`), attestation.ErrMalformedReport},
		{"duplicate status", rep(`,"version":4`, `,"isvEnclaveQuoteStatus":"GROUP_REVOKED"`), attestation.ErrMalformedReport},
		{"trailing data", append(rep(`,"version":4`, ""), "{}"...), attestation.ErrMalformedReport},
		{"array", []byte(`[1]`), attestation.ErrMalformedReport},
		{"missing body", []byte(`{"version":4,"timestamp":"2022-01-17T22:07:49","isvEnclaveQuoteStatus":"OK"}`), attestation.ErrMalformedReport},
		{"missing timestamp", []byte(`{"version":4,"isvEnclaveQuoteBody":"` + body + `","isvEnclaveQuoteStatus":"OK"}`), attestation.ErrMalformedReport},
		{"status not string", bytes.Replace(rep(`,"version":4`, ""), []byte(`"OK"`), []byte(`1`), 1), attestation.ErrMalformedReport},
		{"short body", bytes.Replace(rep(`,"version":4`, ""), []byte(body), []byte(body[:572]), 1), attestation.ErrMalformedReport},
		{"body not base64", bytes.Replace(rep(`,"version":4`, ""), []byte(body[:4]), []byte("!!!!"), 1), attestation.ErrMalformedReport},
		{"ten fraction digits", bytes.Replace(rep(`,"version":4`, ""), []byte(`677"`), []byte(`6770"`), 1), attestation.ErrMalformedReport},
	} {
		_, err := attestation.ParseServiceReport(tc.in)
		if err == nil {
			t.Fatalf("%s: accepted", tc.name)
		}
		assertRefused(t, err, tc.want)
	}
}

func TestParseEndorsedReport(t *testing.T) {
	e, err := attestation.ParseEndorsedReport([]byte(` {"certs":[[1,2],[]], "extra":{"x":[1]}, "signature":[ 0 , 255 ],"report":[]} `))
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Report) != 0 || !bytes.Equal(e.Signature, []byte{0, 255}) || len(e.Certs) != 2 || !bytes.Equal(e.Certs[0], []byte{1, 2}) {
		t.Fatalf("%+v", e)
	}
	for _, in := range []string{
		`{"report":[],"signature":[]}`,
		`{"report":[],"signature":[],"signing_cert":[]}`,
		`{"report":[],"certs":[]}`,
		`{"signature":[],"certs":[]}`,
		`{"report":[256],"signature":[],"certs":[]}`,
		`{"report":[-1],"signature":[],"certs":[]}`,
		`{"report":[1.0],"signature":[],"certs":[]}`,
		`{"report":[01],"signature":[],"certs":[]}`,
		`{"report":[1e1],"signature":[],"certs":[]}`,
		`{"report":"AQI=","signature":[],"certs":[]}`,
		`{"report":null,"signature":[],"certs":[]}`,
		`{"report":[],"signature":[],"certs":[[1],"x"]}`,
		`{"report":[],"signature":[],"certs":[[],[],[],[],[]]}`,
		`{"report":[],"report":[],"signature":[],"certs":[]}`,
		`{"report":[],"signature":[],"certs":[]} x`,
		`{"report":[],"signature":[],"certs":[]`,
		`[]`, ``,
	} {
		_, err := attestation.ParseEndorsedReport([]byte(in))
		assertRefused(t, err, attestation.ErrMalformedEvidence)
	}
	round := &attestation.EndorsedReport{Report: []byte("ab"), Signature: []byte{0, 7, 255}, Certs: [][]byte{{9}, {}}}
	back, err := attestation.ParseEndorsedReport(round.Marshal())
	if err != nil || !bytes.Equal(back.Report, round.Report) || !bytes.Equal(back.Signature, round.Signature) || len(back.Certs) != 2 {
		t.Fatalf("round trip %+v %v", back, err)
	}
	if got := string((&attestation.EndorsedReport{}).Marshal()); got != `{"report":[],"signature":[],"certs":[]}` {
		t.Fatalf("empty payload %s", got)
	}
}

func TestParseCertificateShape(t *testing.T) {
	// A P-384 key, two extensions, a critical extension: not Teaclave's shape.
	for _, der := range otherShapes(t) {
		_, err := attestation.ParseCertificate(der)
		assertRefused(t, err, attestation.ErrMalformedCertificate)
	}
	if _, err := attestation.ParseCertificate([]byte(strings.Repeat("0", 10))); err == nil {
		t.Fatal("junk accepted")
	}
}
