//go:build !teaclave_production

package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/attestation/endorser"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// start runs the service in insecure-dev mode on 127.0.0.1:0 until the test
// ends.
func start(t *testing.T, dataDir string) (httpAddr, grpcAddr net.Addr) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	o := options{verifier: "insecure-dev", dataDir: dataDir, keyBits: 2048, listen: "127.0.0.1:0", grpcListen: "127.0.0.1:0",
		hosts: "127.0.0.1", tlsDays: 1, rootOut: filepath.Join(dataDir, "root.pem"),
		ready: func(h, g net.Addr) { httpAddr, grpcAddr = h, g; close(ready) }}
	go func() { done <- run(ctx, o, quiet()) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("service did not start")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("service did not stop")
		}
	})
	return httpAddr, grpcAddr
}

func devQuote(t *testing.T) []byte {
	t.Helper()
	b := attestation.QuoteBody{Version: 3, SignType: 2, ISVProdID: 5}
	b.MREnclave[0], b.ReportData[0] = 1, 2
	raw, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return attestation.MarshalOEReport(binary.LittleEndian.AppendUint32(raw, 0))
}

func TestDevServiceServesBothForms(t *testing.T) {
	dir := t.TempDir()
	httpAddr, grpcAddr := start(t, dir)
	rootPEM, err := os.ReadFile(filepath.Join(dir, "root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(rootPEM)
	root, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	policy := &attestation.Policy{Roots: []attestation.Root{{Name: "dev", Cert: root, Simulated: true}}, MaxReportAge: time.Hour}
	c, err := endorser.NewClient(endorser.ClientConfig{URL: "https://" + httpAddr.String(), Roots: pool, Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ev, err := c.Endorse(ctx, devQuote(t))
	if err != nil {
		t.Fatal(err)
	}
	if sr, err := attestation.ParseServiceReport(ev.Report); err != nil || sr.Quote.ISVProdID != 5 {
		t.Fatalf("%+v %v", sr, err)
	}
	conn, err := grpc.NewClient(grpcAddr.String(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	gev, err := endorser.NewGRPCClient(conn).Endorse(ctx, devQuote(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := policy.VerifyEndorsement(time.Now(), gev); err != nil {
		t.Fatal(err)
	}
	// The identity is sealed with the development key file, never in the
	// clear, under its own file name.
	sealed, err := os.ReadFile(filepath.Join(dir, "identity-dev.sealed"))
	if err != nil || bytes.Contains(sealed, []byte("PRIVATE")) {
		t.Fatalf("sealed identity: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "identity.sealed")); !os.IsNotExist(err) {
		t.Fatal("development mode wrote the SGX identity file")
	}
	if _, err := os.Stat(filepath.Join(dir, "root.pem.report")); !os.IsNotExist(err) {
		t.Fatal("development mode wrote SGX evidence")
	}
}

func TestRestartKeepsRoot(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	o := options{verifier: "insecure-dev", dataDir: dir, keyBits: 2048, printRoot: true, hosts: "localhost"}
	var roots []string
	for range 2 {
		var out bytes.Buffer
		o.stdout = &out
		if err := run(ctx, o, quiet()); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out.String(), "-----BEGIN CERTIFICATE-----") {
			t.Fatalf("printed %q", out.String())
		}
		roots = append(roots, out.String())
	}
	if roots[0] != roots[1] {
		t.Fatal("root changed across restarts")
	}
	// Another seal key cannot open the identity, and nothing replaces it.
	o.sealKey = filepath.Join(t.TempDir(), "other.key")
	if err := run(ctx, o, quiet()); err == nil {
		t.Fatal("identity opened with another seal key")
	}
}

func TestModes(t *testing.T) {
	for _, v := range []string{"ego", "", "sgx"} {
		if _, err := selectMode(options{verifier: v, dataDir: t.TempDir()}, quiet()); err == nil {
			t.Errorf("verifier %q selected without SGX", v)
		}
	}
	err := run(context.Background(), options{verifier: "insecure-dev", dataDir: t.TempDir(), keyBits: 2048, hosts: "localhost"}, quiet())
	if err == nil || !strings.Contains(err.Error(), "nothing to serve") {
		t.Fatalf("no listeners: %v", err)
	}
}

// TestEnclaveJSON checks the EGo configuration: this binary, the shared
// signer, no debug, no executable heap, a product id of its own among the
// examples (so its seal key differs from every service's), and the data
// folder mounted read-write.
func TestEnclaveJSON(t *testing.T) {
	type config struct {
		Exe             string `json:"exe"`
		Key             string `json:"key"`
		Debug           bool   `json:"debug"`
		HeapSize        int    `json:"heapSize"`
		ExecutableHeap  bool   `json:"executableHeap"`
		ProductID       int    `json:"productID"`
		SecurityVersion int    `json:"securityVersion"`
		Mounts          []struct {
			Source   string `json:"source"`
			Target   string `json:"target"`
			Type     string `json:"type"`
			ReadOnly bool   `json:"readOnly"`
		} `json:"mounts"`
		Env []struct {
			Name     string `json:"name"`
			Value    string `json:"value"`
			FromHost bool   `json:"fromHost"`
		} `json:"env"`
	}
	decode := func(path string) config {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var c config
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return c
	}
	c := decode("enclave.json")
	if c.Exe != "attestation-service" || c.Key != "../enclave-signer.pem" || c.Debug || c.ExecutableHeap || c.HeapSize < 256 ||
		c.ProductID < 1 || c.SecurityVersion < 1 {
		t.Fatalf("enclave.json %+v", c)
	}
	if len(c.Mounts) != 1 || c.Mounts[0].Target != defaultDataDir || c.Mounts[0].ReadOnly || c.Mounts[0].Type != "hostfs" {
		t.Fatalf("mounts %+v", c.Mounts)
	}
	others, _ := filepath.Glob("../*/enclave.json")
	for _, p := range others {
		if filepath.Dir(p) == "../attestation-service" {
			continue
		}
		if decode(p).ProductID == c.ProductID {
			t.Errorf("%s shares productID %d", p, c.ProductID)
		}
	}
}

// TestTLSOffersAEADOnly: both endpoints refuse a TLS 1.2 client that
// offers only a CBC suite and accept one that offers AES-GCM.
func TestTLSOffersAEADOnly(t *testing.T) {
	httpAddr, grpcAddr := start(t, t.TempDir())
	for _, addr := range []net.Addr{httpAddr, grpcAddr} {
		dial := func(suite uint16) error {
			d := &tls.Dialer{Config: &tls.Config{
				InsecureSkipVerify: true, // only the suite is under test
				MaxVersion:         tls.VersionTLS12,
				CipherSuites:       []uint16{suite},
				NextProtos:         []string{"h2", "http/1.1"},
			}}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := d.DialContext(ctx, "tcp", addr.String())
			if err == nil {
				c.Close()
			}
			return err
		}
		if err := dial(tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA); err == nil {
			t.Errorf("%s: a CBC-only TLS 1.2 client was accepted", addr)
		}
		if err := dial(tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256); err != nil {
			t.Errorf("%s: an AES-GCM TLS 1.2 client was refused: %v", addr, err)
		}
	}
}
