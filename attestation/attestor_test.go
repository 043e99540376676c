package attestation_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
)

type fakeQuoter struct{ m attestation.Measurement }

func (q fakeQuoter) Quote(ctx context.Context, rd [64]byte) ([]byte, error) {
	body := attestation.QuoteBody{Version: 3, SignType: 2, MREnclave: q.m.MREnclave, MRSigner: q.m.MRSigner, ReportData: rd}
	return body.MarshalBinary()
}

// fakeEndorser signs reports under test CA A, dated by now.
type fakeEndorser struct {
	now      func() time.Time
	tamperRD bool
}

func (e fakeEndorser) Endorse(ctx context.Context, quote []byte) (*attestation.EndorsedReport, error) {
	q, err := attestation.ParseQuoteBody(quote)
	if err != nil {
		return nil, err
	}
	if e.tamperRD {
		q.ReportData[0] ^= 1
	}
	sr := &attestation.ServiceReport{ID: "1", Timestamp: e.now(), Status: attestation.StatusOK, Quote: *q}
	report, err := sr.Marshal()
	if err != nil {
		return nil, err
	}
	ca := testCAs()[0]
	digest := sha256.Sum256(report)
	sig, err := rsa.SignPKCS1v15(rand.Reader, ca.signerKey, crypto.SHA256, digest[:])
	if err != nil {
		return nil, err
	}
	return &attestation.EndorsedReport{Report: report, Signature: sig, Certs: [][]byte{ca.signer.Raw}}, nil
}

func attest(t testing.TB, service string) *attestation.Credential {
	t.Helper()
	a, err := attestation.NewAttestor(fakeQuoter{measurement(service)}, fakeEndorser{now: time.Now}, attestation.AttestorConfig{MaxReportAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := a.Attest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func TestAttestor(t *testing.T) {
	before := time.Now()
	cred := attest(t, attestation.ServiceStorage)
	ts := cred.Report.Timestamp
	if ts.Before(before.Add(-time.Second)) || !cred.Expires.Equal(ts.Add(time.Hour)) {
		t.Fatalf("expires %v for report of %v", cred.Expires, ts)
	}
	if !cred.RefreshAt.After(ts) || !cred.RefreshAt.Before(cred.Expires) {
		t.Fatalf("refresh at %v, expires %v", cred.RefreshAt, cred.Expires)
	}
	if cred.Certificate.Leaf == nil || len(cred.Certificate.Certificate) != 1 {
		t.Fatal("no leaf")
	}
	v := newVerifier(t, testPolicy())
	if _, err := v.VerifyService(time.Now(), cred.Certificate.Certificate, attestation.ServiceStorage); err != nil {
		t.Fatal(err)
	}
	_, err := v.VerifyService(cred.Expires.Add(time.Second), cred.Certificate.Certificate, attestation.ServiceStorage)
	assertRefused(t, err, attestation.ErrReportTooOld)
	// Two credentials never share a key.
	if attest(t, attestation.ServiceStorage).Report.Quote.ReportData == cred.Report.Quote.ReportData {
		t.Fatal("key reused")
	}
}

func TestAttestorRefusesForeignEndorsement(t *testing.T) {
	a, err := attestation.NewAttestor(fakeQuoter{}, fakeEndorser{now: time.Now, tamperRD: true}, attestation.AttestorConfig{MaxReportAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Attest(context.Background()); !errors.Is(err, attestation.ErrKeyMismatch) {
		t.Fatalf("Attest = %v, want ErrKeyMismatch", err)
	}
	if _, err := attestation.NewAttestor(fakeQuoter{}, fakeEndorser{now: time.Now}, attestation.AttestorConfig{}); err == nil {
		t.Fatal("attestor without maximum report age")
	}
}

// TestMutualHandshake runs TLS 1.2 and 1.3 handshakes with attested
// certificates on both sides, verified by the Verifier in
// VerifyPeerCertificate, as the transport will.
func TestMutualHandshake(t *testing.T) {
	v := newVerifier(t, testPolicy())
	server := attest(t, attestation.ServiceStorage)
	client := attest(t, attestation.ServiceScheduler)
	outsider := attest(t, attestation.ServiceExecution)
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		handshake := func(clientCred *attestation.Credential) (attestation.Identity, error, error) {
			var caller attestation.Identity
			sc := &tls.Config{
				MinVersion:   version,
				MaxVersion:   version,
				Certificates: []tls.Certificate{server.Certificate},
				ClientAuth:   tls.RequireAnyClientCert,
				VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
					_, id, err := v.VerifyCaller(time.Now(), raw, attestation.ServiceStorage)
					caller = id
					return err
				},
			}
			cc := &tls.Config{
				MinVersion:         version,
				MaxVersion:         version,
				Certificates:       []tls.Certificate{clientCred.Certificate},
				InsecureSkipVerify: true, // trust comes from the attestation check below
				VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
					_, err := v.VerifyService(time.Now(), raw, attestation.ServiceStorage)
					return err
				},
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			errc := make(chan error, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					errc <- err
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				errc <- tls.Server(c, sc).Handshake()
			}()
			conn, err := net.DialTimeout("tcp", ln.Addr().String(), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			cerr := tls.Client(conn, cc).Handshake()
			return caller, <-errc, cerr
		}
		id, serr, cerr := handshake(client)
		if serr != nil || cerr != nil {
			t.Fatalf("TLS %x: server %v, client %v", version, serr, cerr)
		}
		if id.Service != attestation.ServiceScheduler {
			t.Fatalf("caller %+v", id)
		}
		_, serr, _ = handshake(outsider)
		if !errors.Is(serr, attestation.ErrCallerNotAllowed) {
			t.Fatalf("TLS %x: outsider accepted or refused for another reason: %v", version, serr)
		}
	}
}

func TestDerivePurposeKey(t *testing.T) {
	secret := make([]byte, 32)
	secret[0] = 1
	a1, err := attestation.DerivePurposeKey(secret, "storage")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := attestation.DerivePurposeKey(secret, "storage")
	b, _ := attestation.DerivePurposeKey(secret, "auth")
	if len(a1) != 32 || string(a1) != string(a2) || string(a1) == string(b) || string(a1) == string(secret) {
		t.Fatal("purpose keys not deterministic, distinct and different from the secret")
	}
	if _, err := attestation.DerivePurposeKey(secret, ""); err == nil {
		t.Fatal("empty purpose accepted")
	}
	if _, err := attestation.DerivePurposeKey(secret[:8], "x"); err == nil {
		t.Fatal("short secret accepted")
	}
}
