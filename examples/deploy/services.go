package deploy

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/fx"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/accesscontrol"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/auth"
	"github.com/teaclave-go/teaclave/execution"
	"github.com/teaclave-go/teaclave/execution/builtin"
	"github.com/teaclave-go/teaclave/execution/starlark"
	"github.com/teaclave-go/teaclave/execution/wasm"
	"github.com/teaclave-go/teaclave/frontend"
	"github.com/teaclave-go/teaclave/management"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/scheduler"
	"github.com/teaclave-go/teaclave/storage"
)

// The services of a multi-process deployment, by Teaclave's short names
// (the keys of [internal_endpoints]; execution nodes have none).
const (
	ServiceAuthentication = "authentication"
	ServiceFrontend       = "frontend"
	ServiceManagement     = "management"
	ServiceStorage        = "storage"
	ServiceAccessControl  = "access_control"
	ServiceScheduler      = "scheduler"
	ServiceExecution      = "execution"
)

// ServiceNames returns the short names Service accepts, in the order the
// services depend on each other (none needs another to start, though:
// connections are made at the first call).
func ServiceNames() []string {
	return []string{ServiceStorage, ServiceAuthentication, ServiceAccessControl, ServiceManagement, ServiceScheduler, ServiceFrontend, ServiceExecution}
}

// AttestedName returns the service name a short name stands for in the
// enclave info and the topology (attestation.Service*), or "" for an
// unknown name.
func AttestedName(short string) string {
	if !slices.Contains(ServiceNames(), short) {
		return ""
	}
	return "teaclave_" + short + "_service"
}

// Service is the fx composition of one service of a multi-process
// deployment, named by its short name (ServiceNames): the service's own
// Module, a RemoteModule for each service it calls (reached through an
// rpc.Dialer at the advertised internal endpoints of cfg), an attested
// transport under the service's own name, and its endpoints (api and/or
// internal) served from the registrations the modules contribute. An
// execution node is Node instead; Service(ServiceExecution, ...) runs the
// node named "execution".
func Service(name string, cfg Config, trust *Trust, logger *slog.Logger) fx.Option {
	if name == ServiceExecution {
		return Node(ServiceExecution, cfg, trust, logger)
	}
	if logger == nil {
		logger = slog.Default()
	}
	var own fx.Option
	switch name {
	case ServiceStorage:
		own = fx.Options(
			fx.Supply(storage.Config{DataDir: cfg.DataPath("storage")}),
			storage.Module,
		)
	case ServiceAuthentication:
		authCfg := auth.Defaults()
		authCfg.APIAddress = cfg.APIEndpoints.Authentication.ListenAddress
		if ep, err := cfg.InternalEndpoint(ServiceAuthentication); err == nil {
			authCfg.InternalAddress = ep.ListenAddress
		}
		own = fx.Options(
			fx.Supply(&authCfg),
			fx.Provide(fx.Annotate(authStore, fx.ResultTags(`name:"`+auth.StoreName+`"`))),
			auth.Module,
		)
	case ServiceAccessControl:
		own = accesscontrol.Module
	case ServiceManagement:
		own = fx.Options(
			// Teaclave's examples register raw inputs; the development
			// deployment allows them, as the all-in-one platform does.
			fx.Supply(management.Config{AllowRawInputs: true}),
			storage.RemoteModule,
			auth.RemoteModule,
			management.Module,
			fx.Provide(func(d auth.Directory) management.Directory { return d }),
		)
	case ServiceScheduler:
		own = fx.Options(
			fx.Supply(scheduler.Config{}),
			// The scheduler reloads its jobs from storage as it starts.
			waitFor(attestation.ServiceStorage),
			storage.RemoteModule,
			scheduler.Module,
		)
	case ServiceFrontend:
		own = fx.Options(
			fx.Supply(frontend.Config{}),
			auth.RemoteModule,
			accesscontrol.RemoteModule,
			management.RemoteModule,
			frontend.Module,
			fx.Provide(
				frontendAuthenticator,
				func(a accesscontrol.Authorizer) frontend.Authorizer { return a },
			),
		)
	default:
		return fx.Error(fmt.Errorf("deploy: unknown service %q (want one of %s)", name, strings.Join(ServiceNames(), ", ")))
	}
	return fx.Options(
		processBase(AttestedName(name), cfg, trust, logger),
		own,
		fx.Provide(newServers),
		fx.Invoke(func(*Servers) {}),
	)
}

// Node is the fx composition of one execution node of a multi-process
// deployment: the node named node in cfg (Config.Node),
// with the builtin, WebAssembly and Starlark executors, taking its tasks
// from the remote scheduler over the attested transport. It listens on
// nothing.
func Node(node string, cfg Config, trust *Trust, logger *slog.Logger) fx.Option {
	if logger == nil {
		logger = slog.Default()
	}
	n, err := cfg.Node(node)
	if err != nil {
		return fx.Error(err)
	}
	return fx.Options(
		processBase(attestation.ServiceExecution, cfg, trust, logger.With("node", n.Name)),
		fx.Provide(func() (execution.Config, error) {
			ec, err := executionConfig(cfg)
			ec.Capacity = n.Workers
			return ec, err
		}),
		scheduler.RemoteModule,
		execution.Module,
		builtin.Module,
		wasm.ModuleWith(wasm.Config{Engine: wasmEngine(cfg)}),
		starlark.Module,
	)
}

// processBase is what every process of a multi-process deployment has:
// its logger, trust, sealer and configuration, an attested transport
// under its own service name, and a dialer for the services it calls.
func processBase(service string, cfg Config, trust *Trust, logger *slog.Logger) fx.Option {
	return fx.Options(
		fx.Supply(
			logger,
			fx.Annotate(trust.Sealer, fx.As(new(attestation.Sealer))),
			trust,
			cfg,
		),
		fx.Provide(
			func(lc fx.Lifecycle) (*rpc.Transport, error) {
				t, err := rpc.NewTransport(context.Background(), rpc.TransportConfig{
					Service:  service,
					Attestor: trust.Attestor,
					Verifier: trust.Verifier,
					Logger:   logger,
				})
				if err != nil {
					return nil, err
				}
				lc.Append(fx.StopHook(t.Close))
				return t, nil
			},
			cfg.Endpoints,
		),
		rpc.DialerModule,
	)
}

// waitFor delays the start of the services after it until the given
// remote services answer their health check, so that processes may start
// in any order: a service that reads from another as it starts waits for
// it (up to the application's start timeout) instead of failing.
func waitFor(services ...string) fx.Option {
	return fx.Invoke(func(lc fx.Lifecycle, d *rpc.Dialer, logger *slog.Logger) {
		lc.Append(fx.StartHook(func(ctx context.Context) error {
			for _, service := range services {
				cc, err := d.Conn(service)
				if err != nil {
					return err
				}
				logger.Info("waiting for a service", "remote", service)
				resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
				if err != nil {
					return fmt.Errorf("deploy: %s is not reachable: %w", service, err)
				}
				if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
					return fmt.Errorf("deploy: %s is %v", service, resp.GetStatus())
				}
			}
			return nil
		}))
	})
}

// frontendAuthenticator adapts the authentication service (in process or
// remote) to the frontend's Authenticator.
func frontendAuthenticator(a auth.Authenticator) frontend.Authenticator {
	return frontend.AuthenticatorFunc(func(ctx context.Context, id, token string) (teaclave.Caller, error) {
		claims, err := a.UserAuthenticate(ctx, id, token)
		if err != nil {
			return teaclave.Caller{}, err
		}
		return claims.Caller(), nil
	})
}

// Servers serves a process's endpoints: one attested gRPC server per
// endpoint (service and kind) that the "grpc_services" group names, on the
// listen address the configuration gives it.
type Servers struct {
	logger *slog.Logger

	mu      sync.Mutex
	servers []*grpc.Server
	addrs   map[string]string // "service/kind" -> bound address
}

type serversParams struct {
	fx.In
	LC            fx.Lifecycle
	Config        Config
	Transport     *rpc.Transport
	Logger        *slog.Logger
	Registrations []rpc.Registration `group:"grpc_services"`
}

// endpointKey names one endpoint of a process.
type endpointKey struct {
	service string
	kind    rpc.EndpointKind
}

func newServers(p serversParams) (*Servers, error) {
	self := p.Transport.Service()
	byEndpoint := map[endpointKey][]rpc.Registration{}
	var order []endpointKey
	for _, r := range p.Registrations {
		if r.Service != self {
			return nil, fmt.Errorf("deploy: the %s process was given an endpoint of %s", self, r.Service)
		}
		if r.Register == nil {
			return nil, fmt.Errorf("deploy: %s registration without handlers", r.Service)
		}
		k := endpointKey{r.Service, r.Kind}
		if _, ok := byEndpoint[k]; !ok {
			order = append(order, k)
		}
		byEndpoint[k] = append(byEndpoint[k], r)
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("deploy: %s serves no endpoint", self)
	}
	s := &Servers{logger: p.Logger, addrs: map[string]string{}}
	p.LC.Append(fx.Hook{
		OnStart: func(context.Context) error { return s.start(p.Config, p.Transport, order, byEndpoint) },
		OnStop:  s.stop,
	})
	return s, nil
}

// listenAddress is where an endpoint listens.
func listenAddress(cfg Config, k endpointKey) (string, error) {
	if k.kind == rpc.APIEndpoint {
		switch k.service {
		case attestation.ServiceAuthentication:
			return cfg.APIEndpoints.Authentication.ListenAddress, nil
		case attestation.ServiceFrontend:
			return cfg.APIEndpoints.Frontend.ListenAddress, nil
		}
		return "", fmt.Errorf("deploy: %s has no api endpoint", k.service)
	}
	short := strings.TrimSuffix(strings.TrimPrefix(k.service, "teaclave_"), "_service")
	ep, err := cfg.InternalEndpoint(short)
	if err != nil {
		return "", err
	}
	return ep.ListenAddress, nil
}

func (s *Servers) start(cfg Config, t *rpc.Transport, order []endpointKey, regs map[endpointKey][]rpc.Registration) error {
	var started []*grpc.Server
	addrs := map[string]string{}
	fail := func(err error) error {
		for _, srv := range started {
			srv.Stop()
		}
		return err
	}
	for _, k := range order {
		addr, err := listenAddress(cfg, k)
		if err != nil {
			return fail(err)
		}
		lis, err := net.Listen("tcp", addr)
		if err != nil {
			return fail(fmt.Errorf("deploy: %s %s endpoint: %w", k.service, k.kind, err))
		}
		srv := t.NewServer(k.kind)
		for _, r := range regs[k] {
			r.Register(srv)
		}
		go srv.Serve(lis)
		started = append(started, srv)
		addrs[k.service+"/"+k.kind.String()] = lis.Addr().String()
		s.logger.Info("endpoint listening", "service", k.service, "endpoint", k.kind.String(), "address", lis.Addr().String())
	}
	s.mu.Lock()
	s.servers, s.addrs = started, addrs
	s.mu.Unlock()
	return nil
}

// Addr returns the address the endpoint of kind listens on once started,
// or "" when the process has no such endpoint.
func (s *Servers) Addr(kind rpc.EndpointKind) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, a := range s.addrs {
		if strings.HasSuffix(k, "/"+kind.String()) {
			return a
		}
	}
	return ""
}

// gracePeriod bounds how long stopping waits for calls in flight: an
// execution node's work stream never ends by itself, and nodes register
// again anyway.
const gracePeriod = 5 * time.Second

// stop lets calls in flight finish, up to gracePeriod or ctx's deadline,
// then closes.
func (s *Servers) stop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, gracePeriod)
	defer cancel()
	s.mu.Lock()
	servers := s.servers
	s.servers = nil
	s.mu.Unlock()
	stopServers(ctx, servers)
	return nil
}

// stopServers stops servers at once, each gracefully until ctx ends and
// then at once.
func stopServers(ctx context.Context, servers []*grpc.Server) {
	var wg sync.WaitGroup
	for _, srv := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := make(chan struct{})
			go func() { srv.GracefulStop(); close(done) }()
			select {
			case <-done:
			case <-ctx.Done():
				srv.Stop()
			}
		}()
	}
	wg.Wait()
}
