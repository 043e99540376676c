//go:build !teaclave_production

package endorser_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/attestation/endorser"
	"github.com/teaclave-go/teaclave/attestation/sim"
	"github.com/teaclave-go/teaclave/rpc"
)

// devDeployment is a development deployment of the SGX path: the endorser
// with the insecure verifier, its root marked simulated, enclave info with
// the storage service and the attestation service signed by an auditor.
type devDeployment struct {
	svc      *endorser.Service
	policy   *attestation.Policy
	verifier *attestation.Verifier
	storage  *sim.Quoter
}

func newDevDeployment(t *testing.T) *devDeployment {
	t.Helper()
	v, err := endorser.NewInsecureDevVerifier("", quiet())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := endorser.New(endorser.Config{Identity: identities()[0], Verifier: v, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	auditor, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := policyFor(t, identities()[0])
	p.Roots = []attestation.Root{identities()[0].PolicyRoot(true)}
	p.Auditors = []attestation.Auditor{{Name: "auditor", Key: &auditor.PublicKey}}
	p.AuditorThreshold = 1
	storage := &sim.Quoter{MREnclave: [32]byte{1, 2, 3}, MRSigner: [32]byte{9}}
	info, err := attestation.MarshalEnclaveInfo(map[string]attestation.Measurement{
		attestation.ServiceStorage:     {MREnclave: storage.MREnclave, MRSigner: storage.MRSigner},
		attestation.ServiceAttestation: {MREnclave: [32]byte{7}, MRSigner: [32]byte{9}},
	})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := attestation.SignEnclaveInfo(info, auditor)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := attestation.LoadEnclaveInfo(info, [][]byte{sig}, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := loaded.Identity(attestation.ServiceAttestation); !ok {
		t.Fatal("no teaclave_attestation_service in the enclave info")
	}
	verifier, err := attestation.NewVerifier(p, loaded)
	if err != nil {
		t.Fatal(err)
	}
	return &devDeployment{svc: svc, policy: p, verifier: verifier, storage: storage}
}

// TestDevEndToEnd: a service's quote goes to the endorser over HTTP, the
// certificate is built from the answer, and a peer verifies it.
func TestDevEndToEnd(t *testing.T) {
	d := newDevDeployment(t)
	srv := startHTTP(t, d.svc)
	client := newHTTPClient(t, srv, identities()[0], d.policy)
	a, err := attestation.NewAttestor(endorser.DevQuoter{Inner: d.storage}, client, attestation.AttestorConfig{MaxReportAge: d.policy.MaxReportAge})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := a.Attest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.verifier.VerifyService(time.Now(), cred.Certificate.Certificate, attestation.ServiceStorage)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Simulated || r.Status != attestation.StatusOK || r.MREnclave != d.storage.MREnclave {
		t.Fatalf("report %+v", r)
	}
	// The gRPC form gives certificates the same verifier accepts.
	ga, err := attestation.NewAttestor(endorser.DevQuoter{Inner: d.storage}, endorser.NewGRPCClient(startGRPC(t, d.svc)),
		attestation.AttestorConfig{MaxReportAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	gcred, err := ga.Attest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.verifier.VerifyService(time.Now(), gcred.Certificate.Certificate, attestation.ServiceStorage); err != nil {
		t.Fatal(err)
	}
	// A production policy refuses the development endorser's root.
	prod := *d.policy
	prod.Production = true
	if _, err := attestation.NewVerifier(&prod, nil); !errors.Is(err, attestation.ErrSimulatedRoot) {
		t.Fatalf("production policy with the dev root: %v", err)
	}
}

// syncBuffer is a bytes.Buffer safe for the transport's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// switchEndorser forwards its first call to first, and every later one to
// the endorser currently set.
type switchEndorser struct {
	first attestation.Endorser
	used  atomic.Bool
	cur   atomic.Pointer[attestation.Endorser]
}

func (s *switchEndorser) set(e attestation.Endorser) { s.cur.Store(&e) }

func (s *switchEndorser) Endorse(ctx context.Context, quote []byte) (*attestation.EndorsedReport, error) {
	if !s.used.Swap(true) {
		return s.first.Endorse(ctx, quote)
	}
	return (*s.cur.Load()).Endorse(ctx, quote)
}

// TestRefreshWithEndorserDown: when the endorser is unreachable at refresh
// time, the service keeps its certificate (peers accept it until the age
// limit) and logs an error at every refresh attempt; once the endorser is
// back, the next attempt replaces the certificate.
func TestRefreshWithEndorserDown(t *testing.T) {
	d := newDevDeployment(t)
	up := startHTTP(t, d.svc)
	down := startHTTP(t, d.svc)
	downClient := newHTTPClient(t, down, identities()[0], d.policy)
	down.Close() // its address now refuses connections
	// The first attestation (at start) reaches the endorser; every refresh
	// after it finds the endorser down.
	sw := &switchEndorser{first: newHTTPClient(t, up, identities()[0], d.policy)}
	sw.set(downClient)
	a, err := attestation.NewAttestor(endorser.DevQuoter{Inner: d.storage}, sw, attestation.AttestorConfig{MaxReportAge: d.policy.MaxReportAge})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	// The transport's clock runs 45 minutes ahead, past the certificate's
	// RefreshAt (30 minutes after its report), so it refreshes at once.
	var ahead atomic.Bool
	ahead.Store(true)
	tr, err := rpc.NewTransport(context.Background(), rpc.TransportConfig{
		Service:  attestation.ServiceStorage,
		Attestor: a,
		Verifier: d.verifier,
		Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
		Now: func() time.Time {
			if ahead.Load() {
				return time.Now().Add(45 * time.Minute)
			}
			return time.Now()
		},
		RetryInterval: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	first := tr.Credential()
	if err := tr.Refresh(context.Background()); err == nil {
		t.Fatal("refresh succeeded with the endorser down")
	}
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(logs.String(), "attested certificate refresh failed") < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("no repeated refresh errors logged: %s", logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if tr.Credential() != first {
		t.Fatal("certificate replaced while the endorser was down")
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "unreachable") {
		t.Fatalf("refresh failure not logged as an error naming the cause: %s", logs.String())
	}
	// The kept certificate is accepted until the report's age limit and
	// refused after it.
	if _, err := d.verifier.VerifyService(first.Expires.Add(-time.Second), first.Certificate.Certificate, attestation.ServiceStorage); err != nil {
		t.Fatalf("kept certificate before its age limit: %v", err)
	}
	if _, err := d.verifier.VerifyService(first.Expires.Add(time.Second), first.Certificate.Certificate, attestation.ServiceStorage); !errors.Is(err, attestation.ErrReportTooOld) {
		t.Fatalf("kept certificate after its age limit: %v", err)
	}
	// The endorser is back: the next attempt replaces the certificate.
	ahead.Store(false)
	sw.set(newHTTPClient(t, up, identities()[0], d.policy))
	for tr.Credential() == first {
		if time.Now().After(deadline) {
			t.Fatal("certificate not refreshed once the endorser was back")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := d.verifier.VerifyService(time.Now(), tr.Credential().Certificate.Certificate, attestation.ServiceStorage); err != nil {
		t.Fatal(err)
	}
}

func TestCheckRootEvidence(t *testing.T) {
	d := newDevDeployment(t)
	info := d.verifier.EnclaveInfo()
	root := identities()[0].Root
	good := endorser.Verdict{Status: attestation.StatusOK, MREnclave: [32]byte{7}, MRSigner: [32]byte{9}, ReportData: endorser.RootReportData(root)}
	if err := endorser.CheckRootEvidence(good, root, info); err != nil {
		t.Fatal(err)
	}
	if rd := endorser.RootReportData(root); !bytes.Equal(rd[32:], make([]byte, 32)) {
		t.Fatal("report data not padded with zeros")
	}
	otherRoot := good
	if err := endorser.CheckRootEvidence(otherRoot, identities()[1].Root, info); err == nil {
		t.Fatal("evidence of another root")
	}
	for name, tc := range map[string]struct {
		edit func(*endorser.Verdict)
		want error
	}{
		"other enclave": {func(v *endorser.Verdict) { v.MREnclave[0] = 1 }, attestation.ErrMREnclaveMismatch},
		"other signer":  {func(v *endorser.Verdict) { v.MRSigner[0] = 1 }, attestation.ErrMRSignerMismatch},
		"debug":         {func(v *endorser.Verdict) { v.Debug = true }, attestation.ErrDebugForbidden},
	} {
		v := good
		tc.edit(&v)
		if err := endorser.CheckRootEvidence(v, root, info); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := endorser.CheckRootEvidence(good, root, nil); err == nil {
		t.Fatal("no enclave info")
	}
}
