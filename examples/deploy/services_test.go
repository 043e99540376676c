//go:build !teaclave_production

package deploy_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/fx/fxtest"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/examples/deploy"
	"github.com/teaclave-go/teaclave/rpc"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// otherBinary writes a file standing for another service's binary.
func otherBinary(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(p, []byte(content), 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDevelopmentEnclaveInfoPerBinary: enclave info generated for a set of
// binaries gives each service its own measurement; a service process
// accepts to start only as the binary recorded for it, and never rewrites
// the enclave info.
func TestDevelopmentEnclaveInfoPerBinary(t *testing.T) {
	dir := t.TempDir()
	cfg := deploy.Default()
	cfg.Data.Dir = dir
	ctx := context.Background()

	// Before the data folder is prepared, a service refuses to start.
	if _, err := deploy.DevelopmentServiceTrust(ctx, cfg, attestation.ServiceStorage, quietLogger()); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("unprepared data folder: %v", err)
	}

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exes := map[string]string{
		attestation.ServiceStorage:  self,
		attestation.ServiceFrontend: otherBinary(t, "frontend"),
	}
	if err := deploy.WriteDevelopmentEnclaveInfo(dir, exes); err != nil {
		t.Fatal(err)
	}
	info, err := os.ReadFile(filepath.Join(dir, deploy.EnclaveInfoFile))
	if err != nil {
		t.Fatal(err)
	}

	trust, err := deploy.DevelopmentServiceTrust(ctx, cfg, attestation.ServiceStorage, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	ms := trust.Info.Measurements()
	if len(ms) != 2 || ms[attestation.ServiceStorage].MREnclave == ms[attestation.ServiceFrontend].MREnclave {
		t.Errorf("measurements %v: want two distinct", ms)
	}
	// This binary is not the frontend's, nor is the scheduler listed.
	if _, err := deploy.DevelopmentServiceTrust(ctx, cfg, attestation.ServiceFrontend, quietLogger()); err == nil || !strings.Contains(err.Error(), "not the teaclave_frontend_service binary") {
		t.Errorf("as the frontend: %v", err)
	}
	if _, err := deploy.DevelopmentServiceTrust(ctx, cfg, attestation.ServiceScheduler, quietLogger()); err == nil || !strings.Contains(err.Error(), "lists no") {
		t.Errorf("as the scheduler: %v", err)
	}
	again, err := os.ReadFile(filepath.Join(dir, deploy.EnclaveInfoFile))
	if err != nil || string(again) != string(info) {
		t.Errorf("a service process rewrote the enclave info (%v)", err)
	}
	// Clients pin the same material.
	v, err := deploy.ClientTrust(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.EnclaveInfo().Services(); len(got) != 2 {
		t.Errorf("client sees %v", got)
	}

	// A tampered enclave info is refused.
	if err := os.WriteFile(filepath.Join(dir, deploy.EnclaveInfoFile), append(info, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := deploy.DevelopmentServiceTrust(ctx, cfg, attestation.ServiceStorage, quietLogger()); err == nil {
		t.Error("tampered enclave info accepted")
	}

	for name, bad := range map[string]map[string]string{
		"none":             {},
		"unknown service":  {"teaclave_nothing_service": self},
		"attestation":      {attestation.ServiceAttestation: self},
		"missing binary":   {attestation.ServiceStorage: filepath.Join(dir, "no-such-binary")},
		"empty executable": {attestation.ServiceStorage: ""},
	} {
		if err := deploy.WriteDevelopmentEnclaveInfo(dir, bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestServiceComposition runs the storage service's composition in
// process: its internal endpoint admits the scheduler, and answers health
// checks over the attested transport; an unknown service name is an error.
func TestServiceComposition(t *testing.T) {
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := deploy.WriteDevelopmentEnclaveInfo(dir, map[string]string{
		attestation.ServiceStorage:   self,
		attestation.ServiceScheduler: self,
	}); err != nil {
		t.Fatal(err)
	}
	cfg := deploy.Default()
	cfg.Data.Dir = dir
	cfg.InternalEndpoints = map[string]deploy.Endpoint{"storage": {ListenAddress: "127.0.0.1:0"}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	trust, err := deploy.DevelopmentServiceTrust(ctx, cfg, attestation.ServiceStorage, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	var servers *deploy.Servers
	app := fxtest.New(t,
		deploy.Service(deploy.ServiceStorage, cfg, trust, quietLogger()),
		fx.Populate(&servers),
		fx.WithLogger(func() fxevent.Logger { return fxevent.NopLogger }),
	)
	app.RequireStart()
	defer app.RequireStop()
	addr := servers.Addr(rpc.InternalEndpoint)
	if addr == "" || servers.Addr(rpc.APIEndpoint) != "" {
		t.Fatalf("storage endpoints: internal %q, api %q", addr, servers.Addr(rpc.APIEndpoint))
	}
	tr, err := rpc.NewTransport(ctx, rpc.TransportConfig{Service: attestation.ServiceScheduler, Attestor: trust.Attestor, Verifier: trust.Verifier, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	cc, err := tr.Dial(addr, attestation.ServiceStorage)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", resp, err)
	}

	bad := fx.New(deploy.Service("nothing", cfg, trust, quietLogger()), fx.WithLogger(func() fxevent.Logger { return fxevent.NopLogger }))
	if err := bad.Err(); err == nil || !strings.Contains(err.Error(), "unknown service") {
		t.Errorf("unknown service: %v", err)
	}
}
