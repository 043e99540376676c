//go:build !teaclave_production

package pythoncompat_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/attestation/sim"
	"github.com/teaclave-go/teaclave/examples/deploy/deploytest"
)

// forger makes RA-TLS certificates from the development platform's own
// simulated attestation service and enclave signer, so that everything but
// the one forged detail verifies.
type forger struct {
	svc    *sim.AttestationService
	asKey  *rsa.PrivateKey
	quoter *sim.Quoter
}

func newForger(t *testing.T, dataDir string) *forger {
	t.Helper()
	asPEM, err := os.ReadFile(filepath.Join(dataDir, "attestation_service.pem"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := sim.LoadAttestationService(asPEM, sim.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var asKey *rsa.PrivateKey
	for rest := asPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type == "PRIVATE KEY" {
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			asKey = k.(*rsa.PrivateKey)
		}
	}
	if asKey == nil {
		t.Fatal("no attestation service key")
	}
	signerPEM, err := os.ReadFile(filepath.Join(dataDir, "enclave_signer.pem"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(signerPEM)
	if b == nil {
		t.Fatal("enclave_signer.pem is not PEM")
	}
	signer, err := x509.ParseECPrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	q, err := sim.NewQuoter(&signer.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return &forger{svc: svc, asKey: asKey, quoter: q}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// quote is a quote body whose report data is key's X‖Y.
func (f *forger) quote(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	pub, err := key.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	var rd [64]byte
	copy(rd[:], pub.Bytes()[1:])
	q, err := f.quoter.Quote(context.Background(), rd)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// report signs a report of the given fields with the attestation
// service's key.
func (f *forger) report(t *testing.T, quote []byte, status string, when time.Time, version int) *attestation.EndorsedReport {
	t.Helper()
	report := fmt.Appendf(nil, `{"id":"00112233445566778899aabbccddeeff","isvEnclaveQuoteBody":"%s","isvEnclaveQuoteStatus":"%s","timestamp":"%s","version":%d}`,
		base64.StdEncoding.EncodeToString(quote[:attestation.QuoteBodySize]), status, when.UTC().Format("2006-01-02T15:04:05.000000000"), version)
	digest := sha256.Sum256(report)
	sig, err := rsa.SignPKCS1v15(rand.Reader, f.asKey, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return &attestation.EndorsedReport{Report: report, Signature: sig, Certs: [][]byte{f.svc.SigningCertificate().Raw}}
}

// endpoint serves TLS with an RA-TLS certificate for key carrying
// evidence: enough for the script's handshake and verification.
func endpoint(t *testing.T, key *ecdsa.PrivateKey, evidence *attestation.EndorsedReport) string {
	t.Helper()
	der, err := attestation.CreateCertificate(key, evidence, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	lis, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		NextProtos:   []string{"h2"},
		MinVersion:   tls.VersionTLS12,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lis.Close() })
	go func() {
		for {
			conn, err := lis.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				io.Copy(io.Discard, conn) // handshake, then wait for the client to leave
			}()
		}
	}()
	return lis.Addr().String()
}

// TestTeaclavePythonSDKRefusesForgedCertificates serves certificates that
// differ from an honest one in one detail each and checks that verified
// mode refuses every one with the reason.
func TestTeaclavePythonSDKRefusesForgedCertificates(t *testing.T) {
	protoc, plugin := tools(t)
	gen := stubs(t, protoc, plugin)
	p := deploytest.Start(t)
	trust := platformTrust(p)
	f := newForger(t, p.Config.Data.Dir)
	ctx := context.Background()
	now := time.Now()

	honest := func(key *ecdsa.PrivateKey) *attestation.EndorsedReport {
		e, err := f.svc.Endorse(ctx, f.quote(t, key))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	for _, c := range []struct {
		name  string
		forge func(key *ecdsa.PrivateKey) *attestation.EndorsedReport
		want  string
	}{
		{"key not bound to the report", func(*ecdsa.PrivateKey) *attestation.EndorsedReport { return honest(newKey(t)) },
			"public key is not the report data"},
		{"report signature altered", func(k *ecdsa.PrivateKey) *attestation.EndorsedReport {
			e := honest(k)
			e.Signature[len(e.Signature)/2] ^= 1
			return e
		}, "report signature does not verify"},
		{"report altered after signing", func(k *ecdsa.PrivateKey) *attestation.EndorsedReport {
			e := honest(k)
			e.Report = []byte(strings.Replace(string(e.Report), `"isvEnclaveQuoteStatus":"OK"`, `"isvEnclaveQuoteStatus":"KO"`, 1))
			return e
		}, "report signature does not verify"},
		{"no signing certificate", func(k *ecdsa.PrivateKey) *attestation.EndorsedReport {
			e := honest(k)
			e.Certs = nil
			return e
		}, "no signing certificate"},
		{"report version 3", func(k *ecdsa.PrivateKey) *attestation.EndorsedReport {
			return f.report(t, f.quote(t, k), "OK", now, 3)
		}, "report version 3"},
		{"unknown quote status", func(k *ecdsa.PrivateKey) *attestation.EndorsedReport {
			return f.report(t, f.quote(t, k), "TRUST_ME", now, 4)
		}, "unknown quote status"},
		{"report from the future", func(k *ecdsa.PrivateKey) *attestation.EndorsedReport {
			return f.report(t, f.quote(t, k), "OK", now.Add(time.Hour), 4)
		}, "in the future"},
	} {
		t.Run(c.name, func(t *testing.T) {
			key := newKey(t)
			addr := endpoint(t, key, c.forge(key))
			fake := *p
			fake.AuthAddr, fake.FrontendAddr = addr, addr
			out, err := compat{stubs: gen, platform: &fake, trust: &trust, examples: []string{"builtin_echo"}}.run(t)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("teaclave_compat.py accepted the forged certificate (err %v):\n%s", err, out)
			}
			if !strings.Contains(out, "teaclave_compat: FAIL") || !strings.Contains(out, c.want) {
				t.Fatalf("output lacks a failure naming %q:\n%s", c.want, out)
			}
			t.Log(lastLine(out))
		})
	}

	// Control: the harness's honest certificate passes verification (and
	// then finds no gRPC server behind it).
	t.Run("honest certificate verifies", func(t *testing.T) {
		key := newKey(t)
		addr := endpoint(t, key, honest(key))
		fake := *p
		fake.AuthAddr, fake.FrontendAddr = addr, addr
		out, _ := compat{stubs: gen, platform: &fake, trust: &trust, examples: []string{"builtin_echo"}, timeout: "2"}.run(t)
		if !strings.Contains(out, "[authentication] verified (") || !strings.Contains(out, "grpcio could not connect") {
			t.Fatalf("honest forged-harness certificate: want verified then no gRPC server:\n%s", out)
		}
	})
}

// lastLine returns the last non-empty line of out.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}
