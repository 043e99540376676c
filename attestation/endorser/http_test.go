package endorser_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/attestation/endorser"
)

// startHTTP serves s over TLS on 127.0.0.1:0 with a certificate issued by
// the endorser's root.
func startHTTP(t *testing.T, s *endorser.Service) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(s.Handler())
	cert, err := s.Identity().TLSCertificate([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func rootPool(id *endorser.Identity) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(id.Root)
	return p
}

func newHTTPClient(t *testing.T, srv *httptest.Server, id *endorser.Identity, policy *attestation.Policy) *endorser.Client {
	t.Helper()
	c, err := endorser.NewClient(endorser.ClientConfig{URL: srv.URL + "/ignored/path", Roots: rootPool(id), Policy: policy,
		SubscriptionKey: strings.Repeat("0", 32)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHTTPClientEndorse(t *testing.T) {
	id := identities()[0]
	srv := startHTTP(t, newService(t, &stubVerifier{}))
	c := newHTTPClient(t, srv, id, policyFor(t, id))
	_, rd := newKey(t)
	body := testBody(rd)
	ev, err := c.Endorse(context.Background(), oeReport(t, body))
	if err != nil {
		t.Fatal(err)
	}
	sr, err := attestation.ParseServiceReport(ev.Report)
	if err != nil || sr.Quote != body || sr.Status != attestation.StatusOK {
		t.Fatalf("%+v %v", sr, err)
	}
	if _, err := policyFor(t, id).VerifyEndorsement(fixedNow, ev); err != nil {
		t.Fatal(err)
	}
	// A client that pins another root refuses the endorser's TLS
	// certificate ...
	wrongTLS, _ := endorser.NewClient(endorser.ClientConfig{URL: srv.URL, Roots: rootPool(identities()[1])})
	if _, err := wrongTLS.Endorse(context.Background(), oeReport(t, body)); teaclave.KindOf(err) != teaclave.KindUnavailable {
		t.Fatalf("TLS under another root: %v", err)
	}
	// ... and a client whose policy pins another root refuses the answer.
	wrongPolicy := newHTTPClient(t, srv, id, policyFor(t, identities()[1]))
	if _, err := wrongPolicy.Endorse(context.Background(), oeReport(t, body)); !errors.Is(err, attestation.ErrUnknownRoot) {
		t.Fatalf("answer under another root: %v", err)
	}
	// Refusals come back with their kind.
	if _, err := c.Endorse(context.Background(), []byte("not a quote")); teaclave.KindOf(err) != teaclave.KindInvalidArgument {
		t.Fatalf("bad quote: %v", err)
	}
	if _, err := c.Endorse(context.Background(), make([]byte, attestation.MaxQuoteSize+1)); teaclave.KindOf(err) != teaclave.KindInvalidArgument {
		t.Fatalf("oversized quote: %v", err)
	}
	for _, bad := range []string{"", "ftp://x", "https://", "::"} {
		if _, err := endorser.NewClient(endorser.ClientConfig{URL: bad}); err == nil {
			t.Errorf("URL %q accepted", bad)
		}
	}
}

// TestHTTPTeaclaveRequest sends the exact request Teaclave's Rust client
// writes and reads the answer as it does: status 200, a Content-Length, the
// body as the report, the two DCAP headers.
func TestHTTPTeaclaveRequest(t *testing.T) {
	id := identities()[0]
	srv := startHTTP(t, newService(t, &stubVerifier{}))
	_, rd := newKey(t)
	quote := oeReport(t, testBody(rd))
	body := `{"isvEnclaveQuote":"` + base64.StdEncoding.EncodeToString(quote) + `"}`
	req := "POST /sgx/dev/attestation/v4/report HTTP/1.1\r\n" +
		"HOST: 127.0.0.1\r\n" +
		"Ocp-Apim-Subscription-Key: 00000000000000000000000000000000\r\n" +
		"Connection: Close\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n", len(body)) +
		"Content-Type: application/json\r\n\r\n" + body
	conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{RootCAs: rootPool(id), ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	head, report, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok || !bytes.HasPrefix(head, []byte("HTTP/1.1 200 ")) {
		t.Fatalf("answer %q", raw[:min(len(raw), 200)])
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.TransferEncoding) != 0 || resp.ContentLength != int64(len(report)) || resp.ContentLength == 0 {
		t.Fatalf("transfer encoding %v, content length %d for %d bytes", resp.TransferEncoding, resp.ContentLength, len(report))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
	certHeader := resp.Header.Get(endorser.CertificateHeader)
	if !regexp.MustCompile(`^([A-Za-z0-9]|%[0-9A-F]{2})+$`).MatchString(certHeader) {
		t.Fatalf("certificate header not percent-encoded as NON_ALPHANUMERIC: %.80q", certHeader)
	}
	pemChain, err := url.PathUnescape(certHeader)
	if err != nil || !strings.HasPrefix(pemChain, "-----BEGIN CERTIFICATE-----\n") {
		t.Fatalf("certificate header %.80q: %v", pemChain, err)
	}
	sig, err := base64.StdEncoding.DecodeString(resp.Header.Get(endorser.SignatureHeader))
	if err != nil {
		t.Fatal(err)
	}
	ev := &attestation.EndorsedReport{Report: report, Signature: sig, Certs: [][]byte{id.Signer.Raw}}
	if _, err := policyFor(t, id).VerifyEndorsement(fixedNow, ev); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pemChain, strings.TrimSpace(string(pemOf(id.Signer.Raw)))) {
		t.Fatal("certificate header is not the signing certificate")
	}
}

func TestHTTPRefusals(t *testing.T) {
	stub := &stubVerifier{}
	srv := startHTTP(t, newService(t, stub))
	client := srv.Client()
	_, rd := newKey(t)
	good := base64.StdEncoding.EncodeToString(oeReport(t, testBody(rd)))
	post := func(path, contentType, body string) int {
		t.Helper()
		resp, err := client.Post(srv.URL+path, contentType, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK && len(msg) == 0 {
			t.Errorf("%d without a message", resp.StatusCode)
		}
		return resp.StatusCode
	}
	const json = "application/json"
	for name, tc := range map[string]struct {
		path, ct, body string
		want           int
	}{
		"good":              {endorser.ReportPath, json, `{"isvEnclaveQuote":"` + good + `"}`, 200},
		"charset":           {endorser.ReportPath, json + "; charset=utf-8", `{"isvEnclaveQuote":"` + good + `","nonce":"x"}`, 200},
		"v3 path":           {"/sgx/dev/attestation/v3/report", json, `{"isvEnclaveQuote":"` + good + `"}`, 404},
		"content type":      {endorser.ReportPath, "text/plain", `{"isvEnclaveQuote":"` + good + `"}`, 415},
		"not JSON":          {endorser.ReportPath, json, `isvEnclaveQuote=` + good, 400},
		"JSON array":        {endorser.ReportPath, json, `["` + good + `"]`, 400},
		"no quote":          {endorser.ReportPath, json, `{"quote":"` + good + `"}`, 400},
		"quote not string":  {endorser.ReportPath, json, `{"isvEnclaveQuote":123}`, 400},
		"not base64":        {endorser.ReportPath, json, `{"isvEnclaveQuote":"***"}`, 400},
		"URL base64":        {endorser.ReportPath, json, `{"isvEnclaveQuote":"` + strings.NewReplacer("+", "-", "/", "_").Replace(good) + `x"}`, 400},
		"empty quote":       {endorser.ReportPath, json, `{"isvEnclaveQuote":""}`, 400},
		"truncated quote":   {endorser.ReportPath, json, `{"isvEnclaveQuote":"` + good[:400] + `"}`, 400},
		"oversized quote":   {endorser.ReportPath, json, `{"isvEnclaveQuote":"` + base64.StdEncoding.EncodeToString(make([]byte, attestation.MaxQuoteSize+3)) + `"}`, 400},
		"oversized request": {endorser.ReportPath, json, `{"isvEnclaveQuote":"` + strings.Repeat("A", 200<<10) + `"}`, 413},
	} {
		if got := post(tc.path, tc.ct, tc.body); got != tc.want {
			t.Errorf("%s: %d, want %d", name, got, tc.want)
		}
	}
	resp, err := client.Get(srv.URL + endorser.ReportPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET report: %d", resp.StatusCode)
	}
	resp, err = client.Get(srv.URL + endorser.RootPath)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(root, identities()[0].RootPEM()) {
		t.Fatal("root PEM")
	}
	// The verifier saw only the two well-formed quotes.
	if n := stub.calls.Load(); n != 2 {
		t.Fatalf("verifier called %d times", n)
	}
	// An unavailable verifier is a 503, a rejected quote a 400.
	for err, want := range map[error]int{
		endorser.ErrUnavailable:   503,
		endorser.ErrQuoteRejected: 400,
		errors.New("boom"):        500,
	} {
		srv := startHTTP(t, newService(t, &stubVerifier{err: err}))
		resp, e := srv.Client().Post(srv.URL+endorser.ReportPath, json, strings.NewReader(`{"isvEnclaveQuote":"`+good+`"}`))
		if e != nil {
			t.Fatal(e)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || bytes.Contains(msg, []byte("boom")) {
			t.Errorf("%v: %d %q", err, resp.StatusCode, msg)
		}
	}
}

func pemOf(der []byte) []byte {
	var b bytes.Buffer
	b.WriteString("-----BEGIN CERTIFICATE-----\n")
	s := base64.StdEncoding.EncodeToString(der)
	for len(s) > 64 {
		b.WriteString(s[:64] + "\n")
		s = s[64:]
	}
	b.WriteString(s + "\n-----END CERTIFICATE-----\n")
	return b.Bytes()
}
