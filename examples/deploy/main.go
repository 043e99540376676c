package deploy

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/rpc"
)

// startTimeout bounds a service's start, which includes waiting for a
// service it reads from as it starts (the scheduler waits for storage).
const startTimeout = 2 * time.Minute

// Main runs one service of a multi-process deployment as a command, for
// the mains under examples/: it reads the flags in args, the configuration
// file they name (defaults built in), the environment (EnvAuthAddr,
// EnvFrontendAddr, EnvDataDir) and then the flags over both, loads the
// service's development trust from the data folder (see
// DevelopmentServiceTrust), and runs Service(service, ...) (an execution
// node: Node) until SIGINT or SIGTERM, then stops gracefully. Logs go to
// stderr. flag.ErrHelp is returned for -h.
func Main(service string, args []string, stderr io.Writer) error {
	if AttestedName(service) == "" {
		return fmt.Errorf("deploy: unknown service %q", service)
	}
	fs := flag.NewFlagSet(service, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file (TOML, Teaclave's runtime.config.toml shape); defaults built in")
	dataDir := fs.String("data-dir", "", "data folder, with the trust material and enclave info (default ./"+DefaultDataDir+")")
	verbose := fs.Bool("v", false, "log debug messages")
	var authAddr, frontAddr, listen, node *string
	var workers *int
	switch service {
	case ServiceAuthentication:
		authAddr = fs.String("auth-addr", "", "api endpoint listen address (overrides api_endpoints.authentication)")
	case ServiceFrontend:
		frontAddr = fs.String("frontend-addr", "", "listen address (overrides api_endpoints.frontend)")
	}
	switch service {
	case ServiceFrontend:
	case ServiceExecution:
		node = fs.String("node", "", "this node's name: one of [[execution.nodes]] when the configuration lists them (required)")
		workers = fs.Int("workers", 0, "tasks this node runs at once (overrides the configuration)")
	default:
		listen = fs.String("listen", "", "internal endpoint listen address (overrides internal_endpoints."+service+".listen_address)")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})).With("process", service)

	cfg := Default()
	if *configPath != "" {
		var err error
		if cfg, err = Load(*configPath); err != nil {
			return err
		}
	}
	cfg.ApplyEnv(os.Getenv)
	if *dataDir != "" {
		cfg.Data.Dir = *dataDir
	}
	if authAddr != nil && *authAddr != "" {
		cfg.APIEndpoints.Authentication.ListenAddress = *authAddr
	}
	if frontAddr != nil && *frontAddr != "" {
		cfg.APIEndpoints.Frontend.ListenAddress = *frontAddr
	}
	if listen != nil && *listen != "" {
		if cfg.InternalEndpoints == nil {
			cfg.InternalEndpoints = map[string]Endpoint{}
		}
		ep := cfg.InternalEndpoints[service]
		ep.ListenAddress = *listen
		cfg.InternalEndpoints[service] = ep
	}
	nodeName := ""
	if service == ServiceExecution {
		if *node == "" {
			return errors.New("-node NAME is required (a name from [[execution.nodes]], or any name when the configuration lists none)")
		}
		nodeName = *node
		if *workers != 0 {
			n, err := cfg.Node(nodeName)
			if err != nil {
				return err
			}
			n.Workers = *workers
			cfg.Execution.Nodes = []ExecutionNode{n}
		}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var trust *Trust
	var err error
	if attestation.ProductionBuild {
		trust, err = ProductionTrust(ctx, cfg, AttestedName(service), logger)
	} else {
		trust, err = DevelopmentServiceTrust(ctx, cfg, AttestedName(service), logger)
	}
	if err != nil {
		return err
	}
	var servers *Servers
	composition := fx.Options(Service(service, cfg, trust, logger), fx.Populate(&servers))
	if service == ServiceExecution {
		composition = Node(nodeName, cfg, trust, logger)
	}
	app := fx.New(
		composition,
		fx.WithLogger(func() fxevent.Logger {
			// fx's own events are debug messages; its errors stay errors.
			l := &fxevent.SlogLogger{Logger: logger.With("component", "fx")}
			l.UseLogLevel(slog.LevelDebug)
			return l
		}),
		fx.StartTimeout(startTimeout),
		fx.StopTimeout(30*time.Second),
	)
	if err := app.Err(); err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := app.Start(startCtx); err != nil {
		return err
	}
	attrs := []any{"data", cfg.Data.Dir}
	if servers != nil {
		if a := servers.Addr(rpc.APIEndpoint); a != "" {
			attrs = append(attrs, "api", a)
		}
		if a := servers.Addr(rpc.InternalEndpoint); a != "" {
			attrs = append(attrs, "internal", a)
		}
	} else {
		attrs = append(attrs, "node", nodeName)
	}
	logger.Info("service ready", attrs...)
	<-ctx.Done()
	logger.Info("stopping: finishing calls in flight")
	stopCtx, cancelStop := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelStop()
	return app.Stop(stopCtx)
}

// Run is the whole main of a per-service command: Main with the process's
// arguments, then exit status 1 on an error (printed after the program's
// name) and 2 for -h.
func Run(service string) {
	err := Main(service, os.Args[1:], os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(os.Args[0]), err)
		os.Exit(1)
	}
}
