//go:build !teaclave_production

// Package deploytest starts a whole development platform in the test's
// process, on free ports of 127.0.0.1 and a temporary data folder, for
// other packages' tests and godoc examples.
package deploytest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
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

	app     *fx.App
	tempDir string // the data folder Launch made, removed by Close
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

// StartWith starts a platform with options, which stops when the test
// ends.
func StartWith(t testing.TB, o Options) *Platform {
	t.Helper()
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := Launch(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(t) })
	return p
}

// Launch starts a platform where no testing.TB is at hand (a TestMain that
// serves godoc examples). Without o.DataDir it makes a temporary data
// folder, which Close removes. The caller must Close the platform.
func Launch(ctx context.Context, o Options) (*Platform, error) {
	p := &Platform{}
	if o.DataDir == "" {
		dir, err := os.MkdirTemp("", "deploytest-")
		if err != nil {
			return nil, fmt.Errorf("deploytest: data folder: %w", err)
		}
		o.DataDir, p.tempDir = dir, dir
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg := deploy.Default()
	cfg.APIEndpoints.Authentication.ListenAddress = "127.0.0.1:0"
	cfg.APIEndpoints.Frontend.ListenAddress = "127.0.0.1:0"
	cfg.Data.Dir = o.DataDir
	cfg.Execution.FileAgentAllowlist = append(cfg.Execution.FileAgentAllowlist, o.FileAgentAllowlist...)
	p.Config = cfg
	fail := func(err error) (*Platform, error) {
		p.removeTemp()
		return nil, err
	}
	trust, err := deploy.DevelopmentTrust(ctx, cfg.Data.Dir, o.Logger)
	if err != nil {
		return fail(fmt.Errorf("deploytest: %w", err))
	}
	var eps *deploy.Endpoints
	app := fx.New(
		deploy.Platform(cfg, trust, o.Logger),
		fx.Populate(&eps),
		fx.WithLogger(func() fxevent.Logger { return fxevent.NopLogger }),
	)
	if err := app.Start(ctx); err != nil {
		return fail(fmt.Errorf("deploytest: start: %w", err))
	}
	p.app, p.AuthAddr, p.FrontendAddr = app, eps.AuthAddr(), eps.FrontendAddr()
	if p.Verifier, err = deploy.ClientTrust(cfg.Data.Dir); err != nil {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		app.Stop(stopCtx)
		return fail(fmt.Errorf("deploytest: client trust: %w", err))
	}
	return p, nil
}

// Stop stops the platform gracefully, reporting a failure to t; stopping
// twice is harmless.
func (p *Platform) Stop(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Errorf("deploytest: stop: %v", err)
	}
}

// Close stops the platform gracefully, within ctx, and removes the data
// folder Launch made; closing twice is harmless.
func (p *Platform) Close(ctx context.Context) error {
	if p.app == nil {
		return nil
	}
	err := p.app.Stop(ctx)
	p.app = nil
	p.removeTemp()
	return err
}

func (p *Platform) removeTemp() {
	if p.tempDir != "" {
		os.RemoveAll(p.tempDir)
		p.tempDir = ""
	}
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
