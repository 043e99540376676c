package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"

	"go.uber.org/fx"
	"google.golang.org/grpc"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/accesscontrol"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/auth"
	"github.com/teaclave-go/teaclave/execution"
	"github.com/teaclave-go/teaclave/execution/builtin"
	"github.com/teaclave-go/teaclave/execution/fileagent"
	"github.com/teaclave-go/teaclave/execution/starlark"
	"github.com/teaclave-go/teaclave/execution/wasm"
	"github.com/teaclave-go/teaclave/frontend"
	"github.com/teaclave-go/teaclave/management"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/scheduler"
	"github.com/teaclave-go/teaclave/storage"
)

// Platform is the fx composition of the all-in-one platform: every service
// in this process, wired in process (plain method calls, no internal
// listener), with the two api endpoints served over the attested
// transport. It provides *Endpoints, whose addresses are known once the
// application has started.
func Platform(cfg Config, trust *Trust, logger *slog.Logger) fx.Option {
	if logger == nil {
		logger = slog.Default()
	}
	authCfg := auth.Defaults()
	authCfg.APIAddress = cfg.APIEndpoints.Authentication.ListenAddress
	return fx.Options(
		fx.Supply(
			logger,
			fx.Annotate(trust.Sealer, fx.As(new(attestation.Sealer))),
			trust,
			cfg,
			storage.Config{DataDir: cfg.DataPath("storage")},
			&authCfg,
			// Teaclave's examples register raw inputs; the development
			// platform allows them.
			management.Config{AllowRawInputs: true},
			frontend.Config{},
			scheduler.Config{},
		),
		fx.Provide(func() (execution.Config, error) { return executionConfig(cfg) }),
		storage.Module,
		fx.Provide(fx.Annotate(authStore, fx.ResultTags(`name:"authentication"`))),
		auth.Module,
		accesscontrol.Module,
		management.Module,
		frontend.Module,
		scheduler.Module,
		execution.Module,
		// The executors this platform runs; a main lists them explicitly.
		// wazero's compiler needs an executable heap, which SGX enclaves
		// do not have (enclave.json: executableHeap false): production
		// builds, and any build configured with execution.wasm_engine =
		// "interpreter", run wasm.EngineInterpreter (docs/security.md).
		builtin.Module,
		wasm.ModuleWith(wasm.Config{Engine: wasmEngine(cfg)}),
		starlark.Module,
		// In-process wiring: the consumers' small interfaces on the
		// providers' services.
		fx.Provide(
			func(d auth.Directory) management.Directory { return d },
			func(a auth.Authenticator) frontend.Authenticator {
				return frontend.AuthenticatorFunc(func(ctx context.Context, id, token string) (teaclave.Caller, error) {
					claims, err := a.UserAuthenticate(ctx, id, token)
					if err != nil {
						return teaclave.Caller{}, err
					}
					return claims.Caller(), nil
				})
			},
			func(a accesscontrol.Authorizer) frontend.Authorizer { return a },
		),
		fx.Provide(newEndpoints),
		fx.Invoke(func(*Endpoints) {}),
	)
}

// executionConfig configures the in-process execution node, creating the
// folder of fusion files (outputs the platform keeps sealed for later
// tasks).
func executionConfig(cfg Config) (execution.Config, error) {
	fusion := cfg.FusionDir()
	if err := os.MkdirAll(fusion, 0o700); err != nil {
		return execution.Config{}, fmt.Errorf("deploy: fusion folder: %w", err)
	}
	return execution.Config{
		Capacity: cfg.Execution.Workers,
		Files: fileagent.Config{
			Allow:     cfg.Execution.FileAgentAllowlist,
			OwnAddrs:  ownAddrs(cfg),
			FusionDir: fusion,
		},
	}, nil
}

// ownAddrs are the platform's own listen and advertised addresses, which
// the file agent refuses to reach unless allowed: the api endpoints and
// every internal endpoint.
func ownAddrs(cfg Config) []string {
	addrs := []string{cfg.APIEndpoints.Authentication.ListenAddress, cfg.APIEndpoints.Frontend.ListenAddress}
	for _, key := range InternalKeys() {
		if _, ok := cfg.InternalEndpoints[key]; !ok {
			continue
		}
		ep, err := cfg.InternalEndpoint(key)
		if err != nil {
			continue
		}
		addrs = append(addrs, ep.ListenAddress)
		// An advertised address by IP is refused too; one by host name
		// is the listen address as others see it.
		if a, err := dialAddress(ep.AdvertisedAddress); err == nil && a != ep.ListenAddress {
			if _, err := netip.ParseAddrPort(a); err == nil {
				addrs = append(addrs, a)
			}
		}
	}
	return addrs
}

// authStore opens the authentication service's own sealed database:
// Teaclave keeps users apart from the storage service.
func authStore(lc fx.Lifecycle, cfg Config, sealer attestation.Sealer, logger *slog.Logger) (teaclave.Store, error) {
	svc, err := storage.New(storage.Config{DataDir: cfg.DataPath("authentication")}.Defaults(), storage.Deps{Sealer: sealer, Logger: logger.With("store", "authentication")})
	if err != nil {
		return nil, err
	}
	lc.Append(fx.Hook{OnStart: svc.Start, OnStop: svc.Stop})
	return svc, nil
}

// Endpoints are the platform's attested api endpoints.
type Endpoints struct {
	cfg    Config
	trust  *Trust
	logger *slog.Logger
	authn  *auth.Service
	front  *frontend.Service

	mu        sync.Mutex
	transport *rpc.Transport
	servers   []*grpc.Server
	authAddr  net.Addr
	frontAddr net.Addr
}

func newEndpoints(lc fx.Lifecycle, cfg Config, trust *Trust, logger *slog.Logger, authn *auth.Service, front *frontend.Service) *Endpoints {
	e := &Endpoints{cfg: cfg, trust: trust, logger: logger, authn: authn, front: front}
	lc.Append(fx.Hook{OnStart: e.start, OnStop: e.stop})
	return e
}

// AuthAddr is the address the authentication api endpoint listens on.
func (e *Endpoints) AuthAddr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.authAddr == nil {
		return ""
	}
	return e.authAddr.String()
}

// FrontendAddr is the address the frontend listens on.
func (e *Endpoints) FrontendAddr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.frontAddr == nil {
		return ""
	}
	return e.frontAddr.String()
}

func (e *Endpoints) start(ctx context.Context) error {
	t, err := rpc.NewTransport(ctx, rpc.TransportConfig{
		// The all-in-one binary is every service; it names itself after
		// the one clients reach most.
		Service:  attestation.ServiceFrontend,
		Attestor: e.trust.Attestor,
		Verifier: e.trust.Verifier,
		Logger:   e.logger,
	})
	if err != nil {
		return err
	}
	authLis, err := net.Listen("tcp", e.cfg.APIEndpoints.Authentication.ListenAddress)
	if err != nil {
		t.Close()
		return fmt.Errorf("deploy: authentication api endpoint: %w", err)
	}
	frontLis, err := net.Listen("tcp", e.cfg.APIEndpoints.Frontend.ListenAddress)
	if err != nil {
		authLis.Close()
		t.Close()
		return fmt.Errorf("deploy: frontend endpoint: %w", err)
	}
	authSrv := t.NewServer(rpc.APIEndpoint)
	auth.RegisterAPI(authSrv, e.authn)
	frontSrv := t.NewServer(rpc.APIEndpoint)
	e.front.Register(frontSrv)
	go authSrv.Serve(authLis)
	go frontSrv.Serve(frontLis)

	e.mu.Lock()
	e.transport, e.servers = t, []*grpc.Server{authSrv, frontSrv}
	e.authAddr, e.frontAddr = authLis.Addr(), frontLis.Addr()
	e.mu.Unlock()
	e.logger.Info("platform ready", "authentication", authLis.Addr().String(), "frontend", frontLis.Addr().String(), "data", e.cfg.Data.Dir)
	return nil
}

// stop lets calls in flight finish, up to ctx's deadline, then closes.
func (e *Endpoints) stop(ctx context.Context) error {
	e.mu.Lock()
	servers, t := e.servers, e.transport
	e.servers, e.transport = nil, nil
	e.mu.Unlock()
	stopServers(ctx, servers)
	if t != nil {
		t.Close()
	}
	return errors.Join(ctx.Err())
}
