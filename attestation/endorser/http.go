package endorser

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/rpc"
)

// Paths served by Handler.
const (
	// ReportPath is Teaclave's fixed attestation report path (§16.3).
	ReportPath = "/sgx/dev/attestation/v4/report"
	// RootPath serves the root certificate as PEM.
	RootPath = "/sgx/dev/attestation/root.pem"
)

// Response headers of an ECDSA (DCAP) report (§16.3).
const (
	SignatureHeader   = "X-DCAPReport-Signature"
	CertificateHeader = "X-DCAPReport-Signing-Certificate"
)

// maxRequestBody bounds a report request: the base64 of a MaxQuoteSize quote
// and room for the JSON around it (and the nonce IAS requests may carry).
const maxRequestBody = (attestation.MaxQuoteSize+2)/3*4 + 4096

// maxResponseBody bounds the report a Client reads back.
const maxResponseBody = 64 << 10

// reportRequest is Teaclave's request body: {"isvEnclaveQuote":"<base64>"}.
// Other keys IAS knew (nonce, pseManifest) are ignored.
type reportRequest struct {
	Quote *string `json:"isvEnclaveQuote"`
}

// Handler serves Teaclave's attestation protocol (§16.3): POST ReportPath
// with a JSON body {"isvEnclaveQuote":"<standard base64 of the quote>"} and
// Content-Type application/json, answered 200 with the report JSON as the
// body (with Content-Length, never chunked), the base64 signature in
// X-DCAPReport-Signature and the percent-encoded PEM signing chain in
// X-DCAPReport-Signing-Certificate. Errors: 400 for a bad body or a quote
// that is malformed, truncated, oversized or does not verify; 413 for a body
// over the size cap; 415 for another content type; 503 when quotes cannot
// be verified now; 500 otherwise. GET RootPath returns the root PEM.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+ReportPath, s.serveReport)
	mux.HandleFunc("GET "+RootPath, func(w http.ResponseWriter, _ *http.Request) {
		body := s.id.RootPEM()
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
	return mux
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.Itoa(len(msg)+1))
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}

func (s *Service) serveReport(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		httpError(w, http.StatusUnsupportedMediaType, "endorser: content type must be application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("endorser: request body over %d bytes (quotes are at most %d bytes)", maxRequestBody, attestation.MaxQuoteSize))
			return
		}
		httpError(w, http.StatusBadRequest, "endorser: cannot read the request body")
		return
	}
	var req reportRequest
	if err := json.Unmarshal(body, &req); err != nil {
		httpError(w, http.StatusBadRequest, "endorser: request body is not a JSON object")
		return
	}
	if req.Quote == nil {
		httpError(w, http.StatusBadRequest, "endorser: request has no isvEnclaveQuote")
		return
	}
	quote, err := base64.StdEncoding.Strict().DecodeString(*req.Quote)
	if err != nil {
		httpError(w, http.StatusBadRequest, "endorser: isvEnclaveQuote is not standard base64")
		return
	}
	ev, err := s.Endorse(r.Context(), quote)
	if err != nil {
		code := http.StatusInternalServerError
		switch teaclave.KindOf(err) {
		case teaclave.KindInvalidArgument:
			code = http.StatusBadRequest
		case teaclave.KindUnavailable:
			code = http.StatusServiceUnavailable
		}
		msg := "endorser: internal error"
		var te *teaclave.Error
		if errors.As(err, &te) {
			msg = te.Error()
		}
		httpError(w, code, msg)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(ev.Report)))
	h.Set(SignatureHeader, base64.StdEncoding.EncodeToString(ev.Signature))
	h.Set(CertificateHeader, percentEncode(pemChain(ev.Certs)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(ev.Report)
}

func pemChain(certs [][]byte) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c}) // writing to a buffer cannot fail
	}
	return b.Bytes()
}

// percentEncode encodes every byte that is not an ASCII letter or digit as
// %XX, as Teaclave's DCAP reference server does (NON_ALPHANUMERIC).
func percentEncode(b []byte) string {
	const hexDigits = "0123456789ABCDEF"
	var sb strings.Builder
	sb.Grow(3 * len(b))
	for _, c := range b {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			sb.WriteByte(c)
			continue
		}
		sb.WriteByte('%')
		sb.WriteByte(hexDigits[c>>4])
		sb.WriteByte(hexDigits[c&15])
	}
	return sb.String()
}

// ClientConfig configures NewClient.
type ClientConfig struct {
	// URL is the endorser's base URL, https://host[:port] (http:// is
	// accepted for a loopback or otherwise protected link: the report's
	// signature, not the channel, is what peers trust). Any path is
	// ignored: the request goes to ReportPath, as in Teaclave.
	URL string
	// Roots verify the endorser's TLS certificate; nil means the host's
	// roots. Pin the endorser's root here (its TLS certificate is issued
	// under it).
	Roots *x509.CertPool
	// SubscriptionKey is sent as Ocp-Apim-Subscription-Key when set
	// (Teaclave's attestation.key); the endorser ignores it.
	SubscriptionKey string
	// Policy, if set, checks every answer before it is used: the signing
	// chain must reach one of its roots and the signature must verify.
	Policy *attestation.Policy
	// Timeout bounds one request of the default client; zero means 30 s.
	Timeout time.Duration
	// HTTPClient replaces the default client (whose TLS uses Roots).
	HTTPClient *http.Client
}

// Client sends quotes to an endorser over Teaclave's HTTP protocol. It is
// an attestation.Endorser: attestation/sgx builds services' certificates
// from its answers.
type Client struct {
	url    string
	cfg    ClientConfig
	client *http.Client
}

var _ attestation.Endorser = (*Client)(nil)

// NewClient returns a client of the endorser at cfg.URL.
func NewClient(cfg ClientConfig) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("endorser: URL: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("endorser: URL %q must be https://host[:port]", cfg.URL)
	}
	// Reports are signed either way, but a production deployment keeps its
	// traffic to the endorser confidential too.
	if u.Scheme == "http" && attestation.ProductionBuild {
		return nil, fmt.Errorf("endorser: URL %q: production builds reach the endorser over https only", cfg.URL)
	}
	target := url.URL{Scheme: u.Scheme, Host: u.Host, Path: ReportPath}
	client := cfg.HTTPClient
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, CipherSuites: rpc.TLS12CipherSuites(), RootCAs: cfg.Roots}
		tr.Proxy = nil
		timeout := cfg.Timeout
		if timeout <= 0 {
			timeout = 30 * time.Second
		}
		client = &http.Client{Transport: tr, Timeout: timeout}
	}
	return &Client{url: target.String(), cfg: cfg, client: client}, nil
}

// Endorse sends quote to the endorser and returns its signed report. An
// unreachable endorser or a 503 is a teaclave Unavailable error, a 400 an
// InvalidArgument error; a malformed answer is Internal.
func (c *Client) Endorse(ctx context.Context, quote []byte) (*attestation.EndorsedReport, error) {
	body, err := json.Marshal(map[string]string{"isvEnclaveQuote": base64.StdEncoding.EncodeToString(quote)})
	if err != nil {
		return nil, fmt.Errorf("endorser: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("endorser: %w", err)
	}
	if c.cfg.SubscriptionKey != "" {
		req.Header.Set("Ocp-Apim-Subscription-Key", c.cfg.SubscriptionKey)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Close = true
	resp, err := c.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, teaclave.Wrap(teaclave.KindUnavailable, "endorser: attestation service unreachable", err)
	}
	defer resp.Body.Close()
	report, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return nil, teaclave.Wrap(teaclave.KindUnavailable, "endorser: reading the attestation service's answer", err)
	}
	if resp.StatusCode != http.StatusOK {
		msg := strings.TrimSpace(string(report[:min(len(report), 200)]))
		kind := teaclave.KindInternal
		switch resp.StatusCode {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			kind = teaclave.KindInvalidArgument
		case http.StatusServiceUnavailable:
			kind = teaclave.KindUnavailable
		}
		return nil, teaclave.Errorf(kind, "endorser: attestation service answered %d: %q", resp.StatusCode, msg)
	}
	if len(report) > maxResponseBody {
		return nil, teaclave.Errorf(teaclave.KindInternal, "endorser: report over %d bytes", maxResponseBody)
	}
	if resp.ContentLength <= 0 || int64(len(report)) != resp.ContentLength {
		return nil, teaclave.Errorf(teaclave.KindInternal, "endorser: answer without a matching non-zero Content-Length")
	}
	ev, err := parseAnswer(report, resp.Header.Get(SignatureHeader), resp.Header.Get(CertificateHeader))
	if err != nil {
		return nil, teaclave.Errorf(teaclave.KindInternal, "endorser: %w", err)
	}
	if c.cfg.Policy != nil {
		if _, err := c.cfg.Policy.VerifyEndorsement(time.Now(), ev); err != nil {
			return nil, teaclave.Errorf(teaclave.KindInternal, "endorser: answer refused: %w", err)
		}
	}
	return ev, nil
}

// parseAnswer builds the certificate payload from an answer as Teaclave
// does: the report is the body, the signature the base64-decoded header,
// the certificates the PEM chain of the percent-decoded header.
func parseAnswer(report []byte, sigHeader, certHeader string) (*attestation.EndorsedReport, error) {
	sig, err := base64.StdEncoding.DecodeString(sigHeader)
	if err != nil || len(sig) == 0 {
		return nil, fmt.Errorf("%s header is not base64", SignatureHeader)
	}
	chain, err := url.PathUnescape(certHeader)
	if err != nil {
		return nil, fmt.Errorf("%s header is not percent-encoded", CertificateHeader)
	}
	var certs [][]byte
	for rest := []byte(chain); ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%s holds a %q block", CertificateHeader, b.Type)
		}
		if len(certs) == attestation.MaxEndorsementCerts {
			return nil, fmt.Errorf("%s holds more than %d certificates", CertificateHeader, attestation.MaxEndorsementCerts)
		}
		certs = append(certs, b.Bytes)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s holds no certificate", CertificateHeader)
	}
	return &attestation.EndorsedReport{Report: report, Signature: sig, Certs: certs}, nil
}
