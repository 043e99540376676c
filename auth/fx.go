package auth

import (
	"context"
	"log/slog"

	"go.uber.org/fx"
	"google.golang.org/grpc"

	"github.com/teaclave-go/teaclave"
)

// Names of the values the fx modules take from the graph.
const (
	// StoreName tags the teaclave.Store that holds the user database:
	// `name:"authentication"`. It must be the authentication service's own
	// sealed store, not the storage service's.
	StoreName = "authentication"
	// ConnName tags the grpc.ClientConnInterface RemoteModule uses:
	// `name:"authentication"`, a connection to the internal endpoint pinned
	// to the authentication service's attested identity.
	ConnName = "authentication"
)

// Module runs the authentication service in this process. It provides the
// *Service and it as Authenticator and Directory, and ties Start and Stop
// to the fx lifecycle. It takes the store named StoreName, and optionally a
// *Config (Defaults() without one), a Clock and a *slog.Logger. The
// endpoints are contributed by the transport wiring (RegisterAPI,
// RegisterInternal).
var Module = fx.Module("authentication", fx.Provide(provide))

// RemoteModule provides Authenticator and Directory over the connection
// named ConnName.
var RemoteModule = fx.Module("authentication-remote", fx.Provide(provideRemote))

type params struct {
	fx.In
	Lifecycle fx.Lifecycle
	Store     teaclave.Store `name:"authentication"`
	Config    *Config        `optional:"true"`
	Clock     Clock          `optional:"true"`
	Logger    *slog.Logger   `optional:"true"`
}

type result struct {
	fx.Out
	Service       *Service
	Authenticator Authenticator
	Directory     Directory
}

func provide(p params) (result, error) {
	cfg := Defaults()
	if p.Config != nil {
		cfg = *p.Config
	}
	s, err := New(cfg, Deps{Store: p.Store, Clock: p.Clock, Logger: p.Logger})
	if err != nil {
		return result{}, err
	}
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(ctx context.Context) error { return s.Start(ctx) },
		OnStop:  func(ctx context.Context) error { return s.Stop(ctx) },
	})
	return result{Service: s, Authenticator: s, Directory: s}, nil
}

type remoteParams struct {
	fx.In
	Conn grpc.ClientConnInterface `name:"authentication"`
}

type remoteResult struct {
	fx.Out
	Authenticator Authenticator
	Directory     Directory
}

func provideRemote(p remoteParams) remoteResult {
	c := NewClient(p.Conn)
	return remoteResult{Authenticator: c, Directory: c}
}
