package endorser_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/edgelesssys/ego/attestation/tcbstatus"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/attestation/endorser"
)

func TestEndorseReport(t *testing.T) {
	key, rd := newKey(t)
	body := testBody(rd)
	quote := oeReport(t, body)
	ev, err := newService(t, &stubVerifier{status: attestation.StatusSWHardeningNeeded}).Endorse(context.Background(), quote)
	if err != nil {
		t.Fatal(err)
	}
	// The report JSON: the DCAP reference server's keys in order, version
	// 4, the timestamp with nine digits, and the first 432 bytes of the SGX
	// quote (the OE report minus its 16-byte header) as the body.
	want := fmt.Sprintf(`{"id":"%%s","isvEnclaveQuoteBody":"%s","isvEnclaveQuoteStatus":"SW_HARDENING_NEEDED","timestamp":"%s","version":4}`,
		base64.StdEncoding.EncodeToString(quote[16:16+432]), fixedNow.Format("2006-01-02T15:04:05.000000000"))
	re := regexp.MustCompile(`^\{"id":"([0-9a-f]{32})",`)
	m := re.FindSubmatch(ev.Report)
	if m == nil || string(ev.Report) != fmt.Sprintf(want, m[1]) {
		t.Fatalf("report %s", ev.Report)
	}
	sr, err := attestation.ParseServiceReport(ev.Report)
	if err != nil {
		t.Fatal(err)
	}
	if sr.Quote != body || sr.Status != attestation.StatusSWHardeningNeeded || !sr.Timestamp.Equal(fixedNow) {
		t.Fatalf("parsed %+v", sr)
	}
	// Signed with RSA PKCS#1 v1.5 SHA-256 by the one signing certificate.
	id := identities()[0]
	if len(ev.Certs) != 1 || !bytes.Equal(ev.Certs[0], id.Signer.Raw) {
		t.Fatal("chain is not the signing certificate")
	}
	digest := sha256.Sum256(ev.Report)
	if err := rsa.VerifyPKCS1v15(id.Signer.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], ev.Signature); err != nil {
		t.Fatal(err)
	}
	// Our verifier accepts it under the endorser's root ...
	root, err := policyFor(t, id).VerifyEndorsement(fixedNow, ev)
	if err != nil || root.Simulated || root.Cert != id.Root {
		t.Fatalf("root %+v: %v", root, err)
	}
	// ... and refuses it under another endorser's root.
	if _, err := policyFor(t, identities()[1]).VerifyEndorsement(fixedNow, ev); !errors.Is(err, attestation.ErrUnknownRoot) {
		t.Fatalf("another root: %v", err)
	}
	tampered := *ev
	tampered.Report = bytes.Replace(ev.Report, []byte("SW_HARDENING_NEEDED"), []byte("OK"), 1)
	if _, err := policyFor(t, id).VerifyEndorsement(fixedNow, &tampered); !errors.Is(err, attestation.ErrBadReportSignature) {
		t.Fatalf("tampered report: %v", err)
	}
	// A certificate built from the answer passes the full peer check.
	der, err := attestation.CreateCertificate(key, ev, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	v, err := attestation.NewVerifier(policyFor(t, id), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := v.VerifyPeer(fixedNow, [][]byte{der})
	if err != nil {
		t.Fatal(err)
	}
	if r.MREnclave != body.MREnclave || r.Status != attestation.StatusSWHardeningNeeded || r.Simulated || r.ISVSVN != 3 {
		t.Fatalf("verified %+v", r)
	}
	other, err := attestation.NewVerifier(policyFor(t, identities()[1]), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.VerifyPeer(fixedNow, [][]byte{der}); !errors.Is(err, attestation.ErrUnknownRoot) {
		t.Fatalf("other root: %v", err)
	}
}

// TestTCBStatusPolicy: statuses other than OK and SW_HARDENING_NEEDED are
// endorsed as they are, and refused by an SGX policy that does not list
// them.
func TestTCBStatusPolicy(t *testing.T) {
	id := identities()[0]
	for _, status := range []string{attestation.StatusOutOfDate, attestation.StatusConfigurationNeeded, attestation.StatusKeyRevoked} {
		key, rd := newKey(t)
		ev, err := newService(t, &stubVerifier{status: status}).Endorse(context.Background(), oeReport(t, testBody(rd)))
		if err != nil {
			t.Fatal(err)
		}
		der, err := attestation.CreateCertificate(key, ev, fixedNow)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := attestation.NewVerifier(policyFor(t, id), nil)
		if _, err := v.VerifyPeer(fixedNow, [][]byte{der}); !errors.Is(err, attestation.ErrStatusNotAccepted) {
			t.Fatalf("%s: %v", status, err)
		}
		p := policyFor(t, id)
		p.AcceptedStatuses = append(p.AcceptedStatuses, status)
		v, _ = attestation.NewVerifier(p, nil)
		if _, err := v.VerifyPeer(fixedNow, [][]byte{der}); err != nil {
			t.Fatalf("%s listed: %v", status, err)
		}
	}
}

func TestEndorseRefusesBadQuotes(t *testing.T) {
	_, rd := newKey(t)
	good := oeReport(t, testBody(rd))
	stub := &stubVerifier{}
	s := newService(t, stub)
	huge := oeReport(t, testBody(rd))
	huge = append(huge, make([]byte, attestation.MaxQuoteSize)...)
	cases := map[string][]byte{
		"empty":             nil,
		"header only":       good[:16],
		"truncated":         good[:len(good)-10],
		"truncated body":    good[:16+300],
		"trailing":          append(bytes.Clone(good), 1, 2, 3),
		"bare quote body":   good[16 : 16+432],
		"bare quote":        good[16:],
		"oversized":         huge,
		"just over the cap": make([]byte, attestation.MaxQuoteSize+1),
		"garbage":           bytes.Repeat([]byte{0xff}, 600),
	}
	for name, q := range cases {
		_, err := s.Endorse(context.Background(), q)
		if teaclave.KindOf(err) != teaclave.KindInvalidArgument {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n := stub.calls.Load(); n != 0 {
		t.Fatalf("verifier called %d times for malformed quotes", n)
	}
	_, err := s.Endorse(context.Background(), make([]byte, attestation.MaxQuoteSize+1))
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("65536")) {
		t.Fatalf("oversized error does not say the limit: %v", err)
	}
}

func TestEndorseVerifierOutcomes(t *testing.T) {
	_, rd := newKey(t)
	quote := oeReport(t, testBody(rd))
	for name, tc := range map[string]struct {
		v    *stubVerifier
		kind teaclave.Kind
	}{
		"rejected":          {&stubVerifier{err: fmt.Errorf("%w: OE_VERIFY_FAILED", endorser.ErrQuoteRejected)}, teaclave.KindInvalidArgument},
		"unavailable":       {&stubVerifier{err: fmt.Errorf("%w: OE_QUOTE_PROVIDER_CALL_ERROR", endorser.ErrUnavailable)}, teaclave.KindUnavailable},
		"other error":       {&stubVerifier{err: errors.New("boom")}, teaclave.KindInternal},
		"unknown status":    {&stubVerifier{status: "FINE"}, teaclave.KindInternal},
		"other mr_enclave":  {&stubVerifier{mutate: func(v *endorser.Verdict) { v.MREnclave[0] ^= 1 }}, teaclave.KindInternal},
		"other mr_signer":   {&stubVerifier{mutate: func(v *endorser.Verdict) { v.MRSigner[0] ^= 1 }}, teaclave.KindInternal},
		"other report data": {&stubVerifier{mutate: func(v *endorser.Verdict) { v.ReportData[63] ^= 1 }}, teaclave.KindInternal},
		"other debug":       {&stubVerifier{mutate: func(v *endorser.Verdict) { v.Debug = true }}, teaclave.KindInternal},
		"other svn":         {&stubVerifier{mutate: func(v *endorser.Verdict) { v.ISVSVN++ }}, teaclave.KindInternal},
		"other product":     {&stubVerifier{mutate: func(v *endorser.Verdict) { v.ISVProdID++ }}, teaclave.KindInternal},
	} {
		ev, err := newService(t, tc.v).Endorse(context.Background(), quote)
		if ev != nil || teaclave.KindOf(err) != tc.kind {
			t.Errorf("%s: %v, want kind %v", name, err, tc.kind)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newService(t, &stubVerifier{}).Endorse(ctx, quote); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}

func TestStatusFromTCB(t *testing.T) {
	want := map[tcbstatus.Status]string{
		tcbstatus.UpToDate:                          "OK",
		tcbstatus.OutOfDate:                         "OUT_OF_DATE",
		tcbstatus.Revoked:                           "KEY_REVOKED",
		tcbstatus.ConfigurationNeeded:               "CONFIGURATION_NEEDED",
		tcbstatus.OutOfDateConfigurationNeeded:      "OUT_OF_DATE_CONFIGURATION_NEEDED",
		tcbstatus.SWHardeningNeeded:                 "SW_HARDENING_NEEDED",
		tcbstatus.ConfigurationAndSWHardeningNeeded: "CONFIGURATION_AND_SW_HARDENING_NEEDED",
		tcbstatus.Unknown:                           "UNSPECIFIED",
		tcbstatus.Status(99):                        "UNSPECIFIED",
	}
	for s, w := range want {
		if got := endorser.StatusFromTCB(s); got != w {
			t.Errorf("%v: %s, want %s", s, got, w)
		}
	}
}

// memSealer is an attestation.Sealer on a fixed secret.
type memSealer struct{ secret []byte }

func (m memSealer) Key(_ context.Context, purpose string) ([]byte, error) {
	return attestation.DerivePurposeKey(m.secret, purpose)
}

func TestIdentitySealing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := dir + "/identity.sealed"
	sealer := memSealer{bytes.Repeat([]byte{1}, 32)}
	opts := endorser.IdentityOptions{KeyBits: 2048}
	id, created, err := endorser.LoadOrCreateIdentity(ctx, path, sealer, opts)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	again, created, err := endorser.LoadOrCreateIdentity(ctx, path, sealer, opts)
	if err != nil || created {
		t.Fatalf("reload: %v %v", created, err)
	}
	if !bytes.Equal(again.RootPEM(), id.RootPEM()) || !bytes.Equal(again.Signer.Raw, id.Signer.Raw) || again.RootFingerprint() != id.RootFingerprint() {
		t.Fatal("reloaded identity differs")
	}
	// A report signed after the reload verifies under the original root.
	s, err := endorser.New(endorser.Config{Identity: again, Verifier: &stubVerifier{}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	_, rd := newKey(t)
	ev, err := s.Endorse(ctx, oeReport(t, testBody(rd)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := policyFor(t, id).VerifyEndorsement(time.Now(), ev); err != nil {
		t.Fatal(err)
	}
	sealed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("sealed file mode: %v %v", fi.Mode(), err)
	}
	if bytes.Contains(sealed, []byte("PRIVATE KEY")) || bytes.Contains(sealed, id.Root.Raw[:64]) {
		t.Fatal("sealed file holds plaintext")
	}
	// Another sealing identity cannot open it, and the root is never
	// replaced silently.
	if _, _, err := endorser.LoadOrCreateIdentity(ctx, path, memSealer{bytes.Repeat([]byte{2}, 32)}, opts); !errors.Is(err, endorser.ErrSealedIdentity) {
		t.Fatalf("other sealer: %v", err)
	}
	for _, i := range []int{0, 8, 20, len(sealed) - 1} {
		bad := bytes.Clone(sealed)
		bad[i] ^= 1
		if _, err := endorser.OpenIdentity(ctx, bad, sealer); !errors.Is(err, endorser.ErrSealedIdentity) {
			t.Fatalf("flipped byte %d: %v", i, err)
		}
	}
	for _, bad := range [][]byte{nil, sealed[:10], sealed[:len(sealed)-1]} {
		if _, err := endorser.OpenIdentity(ctx, bad, sealer); !errors.Is(err, endorser.ErrSealedIdentity) {
			t.Fatalf("short file: %v", err)
		}
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, sealed) {
		t.Fatal("sealed file changed")
	}
	if _, err := endorser.NewIdentity(endorser.IdentityOptions{KeyBits: 1024}); err == nil {
		t.Fatal("1024-bit identity")
	}
}

func TestTLSCertificate(t *testing.T) {
	id := identities()[0]
	c, err := id.TLSCertificate([]string{"endorser.example", "127.0.0.1"}, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(id.Root)
	for _, host := range []string{"endorser.example", "127.0.0.1"} {
		if _, err := c.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: host}); err != nil {
			t.Fatalf("%s: %v", host, err)
		}
	}
	other := x509.NewCertPool()
	other.AddCert(identities()[1].Root)
	if _, err := c.Leaf.Verify(x509.VerifyOptions{Roots: other}); err == nil {
		t.Fatal("verified under another root")
	}
	if _, err := id.TLSCertificate(nil, time.Hour); err == nil {
		t.Fatal("certificate without a host")
	}
	if hex.EncodeToString(id.Root.Raw) == hex.EncodeToString(identities()[1].Root.Raw) {
		t.Fatal("two identities, one root")
	}
}

// blockingVerifier holds every verification until release is closed.
type blockingVerifier struct {
	stubVerifier
	entered chan struct{}
	release chan struct{}
}

func (b *blockingVerifier) VerifyQuote(ctx context.Context, report []byte) (endorser.Verdict, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.stubVerifier.VerifyQuote(ctx, report)
}

// TestEndorseBoundsConcurrency: with MaxConcurrent endorsements in
// progress, another is refused as Unavailable at once (without reaching
// the verifier), and once they end the service endorses again.
func TestEndorseBoundsConcurrency(t *testing.T) {
	const limit = 2
	// Room for one more than the bound, so that a call the bound fails to
	// stop blocks in the verifier and the test reports it, not hangs.
	v := &blockingVerifier{entered: make(chan struct{}, limit+1), release: make(chan struct{})}
	s, err := endorser.New(endorser.Config{Identity: identities()[0], Verifier: v, Logger: quiet(), Now: func() time.Time { return fixedNow }, MaxConcurrent: limit})
	if err != nil {
		t.Fatal(err)
	}
	quote := oeReport(t, testBody([64]byte{1}))
	errs := make(chan error, limit)
	for range limit {
		go func() {
			_, err := s.Endorse(context.Background(), quote)
			errs <- err
		}()
	}
	for range limit {
		<-v.entered
	}
	over := make(chan error, 1)
	go func() {
		_, err := s.Endorse(context.Background(), quote)
		over <- err
	}()
	select {
	case err := <-over:
		if teaclave.KindOf(err) != teaclave.KindUnavailable {
			t.Fatalf("endorsement over the bound: %v, want Unavailable", err)
		}
	case <-v.entered:
		close(v.release)
		t.Fatal("an endorsement over the bound reached the verifier")
	case <-time.After(10 * time.Second):
		t.Fatal("an endorsement over the bound neither refused nor reached the verifier")
	}
	close(v.release)
	for range limit {
		if err := <-errs; err != nil {
			t.Fatalf("endorsement within the bound: %v", err)
		}
	}
	if _, err := s.Endorse(context.Background(), quote); err != nil {
		t.Fatalf("after the others ended: %v", err)
	}
	if _, err := endorser.New(endorser.Config{Identity: identities()[0], Verifier: v, MaxConcurrent: -1}); err == nil {
		t.Fatal("negative MaxConcurrent accepted")
	}
}
