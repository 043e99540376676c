//go:build !teaclave_production

// Package deploytest starts a whole development platform in the test's
// process, on free ports of 127.0.0.1 and a temporary data folder, for
// other packages' tests and godoc examples.
package deploytest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"google.golang.org/grpc"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/examples/deploy"
	"github.com/teaclave-go/teaclave/rpc"
)

// Platform is a running platform.
type Platform struct {
	// Config is the configuration it runs with.
	Config deploy.Config
	// AuthAddr and FrontendAddr are its api endpoints.
	AuthAddr, FrontendAddr string
	// Verifier checks its endpoints as a client does, from the files the
	// platform wrote into its data folder.
	Verifier *attestation.Verifier

	app *fx.App
}

// Options adjust Start.
type Options struct {
	// DataDir reuses a data folder (to test restarts); empty means a new
	// temporary folder.
	DataDir string
	// Logger receives the platform's logs; nil discards them.
	Logger *slog.Logger
	// FileAgentAllowlist adds host:port pairs (a test's file server on
	// 127.0.0.1) that the file agent may reach.
	FileAgentAllowlist []string
}

// Start starts a platform that stops when the test ends.
func Start(t testing.TB) *Platform {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith starts a platform with options.
func StartWith(t testing.TB, o Options) *Platform {
	t.Helper()
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg := deploy.Default()
	cfg.APIEndpoints.Authentication.ListenAddress = "127.0.0.1:0"
	cfg.APIEndpoints.Frontend.ListenAddress = "127.0.0.1:0"
	cfg.Data.Dir = o.DataDir
	cfg.Execution.FileAgentAllowlist = append(cfg.Execution.FileAgentAllowlist, o.FileAgentAllowlist...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	trust, err := deploy.DevelopmentTrust(ctx, cfg.Data.Dir, o.Logger)
	if err != nil {
		t.Fatalf("deploytest: %v", err)
	}
	var eps *deploy.Endpoints
	app := fx.New(
		deploy.Platform(cfg, trust, o.Logger),
		fx.Populate(&eps),
		fx.WithLogger(func() fxevent.Logger { return fxevent.NopLogger }),
	)
	if err := app.Start(ctx); err != nil {
		t.Fatalf("deploytest: start: %v", err)
	}
	p := &Platform{Config: cfg, AuthAddr: eps.AuthAddr(), FrontendAddr: eps.FrontendAddr(), app: app}
	t.Cleanup(func() { p.Stop(t) })
	if p.Verifier, err = deploy.ClientTrust(cfg.Data.Dir); err != nil {
		t.Fatalf("deploytest: client trust: %v", err)
	}
	return p
}

// Stop stops the platform gracefully; stopping twice is harmless.
func (p *Platform) Stop(t testing.TB) {
	t.Helper()
	if p.app == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.app.Stop(ctx); err != nil {
		t.Errorf("deploytest: stop: %v", err)
	}
	p.app = nil
}

// DialAuth returns a client connection to the authentication api endpoint,
// verified as a client would.
func (p *Platform) DialAuth(t testing.TB) *grpc.ClientConn {
	return p.dial(t, p.AuthAddr, attestation.ServiceAuthentication)
}

// DialFrontend returns a client connection to the frontend, verified as a
// client would.
func (p *Platform) DialFrontend(t testing.TB) *grpc.ClientConn {
	return p.dial(t, p.FrontendAddr, attestation.ServiceFrontend)
}

func (p *Platform) dial(t testing.TB, addr, service string) *grpc.ClientConn {
	t.Helper()
	cc, err := rpc.DialAPI(addr, service, p.Verifier, nil)
	if err != nil {
		t.Fatalf("deploytest: dial %s: %v", service, err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}
