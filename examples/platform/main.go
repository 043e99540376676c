// Command platform runs the whole Teaclave for Go platform in one process:
// every service wired in process, the authentication api endpoint and the
// frontend served over attested TLS, sealed LevelDB in a local data folder.
//
// Development builds (the default) use simulated attestation: the trust
// material is created once in the data folder, and the files a client
// needs (attestation_root.pem, enclave_info.toml, auditors/) are written
// there at every start. Never put real data in a simulated deployment.
// teaclave_production builds, run in an EGo enclave, load the trust
// compiled in from examples/deploy/policy/production.toml and the enclave
// info named in the configuration's [audit] (deploy.ProductionTrust,
// docs/sgx.md).
//
//	go run ./examples/platform
//	go run ./examples/platform -data-dir /tmp/teaclave -auth-addr 127.0.0.1:0
//
// Flags override the configuration file and environment variables
// (TEACLAVE_AUTH_ADDR, TEACLAVE_FRONTEND_ADDR, TEACLAVE_DATA_DIR) override
// the file. SIGINT or SIGTERM stops it gracefully.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/examples/deploy"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "platform:", err)
		os.Exit(1)
	}
}

func run() error {
	configPath := flag.String("config", "", "configuration file (TOML, Teaclave's runtime.config.toml shape); defaults built in")
	authAddr := flag.String("auth-addr", "", "authentication api endpoint listen address (default "+deploy.DefaultAuthAddr+")")
	frontAddr := flag.String("frontend-addr", "", "frontend listen address (default "+deploy.DefaultFrontendAddr+")")
	dataDir := flag.String("data-dir", "", "data folder (default ./"+deploy.DefaultDataDir+")")
	verbose := flag.Bool("v", false, "log debug messages")
	flag.Parse()

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	cfg := deploy.Default()
	if *configPath != "" {
		var err error
		if cfg, err = deploy.Load(*configPath); err != nil {
			return err
		}
	}
	cfg.ApplyEnv(os.Getenv)
	if *authAddr != "" {
		cfg.APIEndpoints.Authentication.ListenAddress = *authAddr
	}
	if *frontAddr != "" {
		cfg.APIEndpoints.Frontend.ListenAddress = *frontAddr
	}
	if *dataDir != "" {
		cfg.Data.Dir = *dataDir
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var trust *deploy.Trust
	var err error
	if attestation.ProductionBuild {
		trust, err = deploy.ProductionTrust(ctx, cfg, deploy.AllInOne, logger)
	} else {
		trust, err = deploy.DevelopmentTrust(ctx, cfg.Data.Dir, logger)
	}
	if err != nil {
		return err
	}
	app := fx.New(
		deploy.Platform(cfg, trust, logger),
		fx.WithLogger(func() fxevent.Logger { return &fxevent.SlogLogger{Logger: logger.With("component", "fx")} }),
		fx.StartTimeout(30*time.Second),
		fx.StopTimeout(30*time.Second),
	)
	if err := app.Err(); err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := app.Start(startCtx); err != nil {
		return err
	}
	<-ctx.Done()
	logger.Info("stopping: finishing calls in flight")
	stopCtx, cancelStop := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelStop()
	return app.Stop(stopCtx)
}
