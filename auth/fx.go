package auth

import (
	"context"
	"log/slog"

	"go.uber.org/fx"
	"google.golang.org/grpc"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/rpc"
)

// StoreName tags the teaclave.Store that holds the user database:
// `name:"authentication"`. It must be the authentication service's own
// sealed store, not the storage service's.
const StoreName = "authentication"

// Module runs the authentication service in this process. It provides the
// *Service and it as Authenticator and Directory, and ties Start and Stop
// to the fx lifecycle. It takes the store named StoreName, and optionally a
// *Config (Defaults() without one), a Clock and a *slog.Logger. It
// contributes two rpc.Registrations to the "grpc_services" group: the api
// endpoint (RegisterAPI) and the internal endpoint (RegisterInternal).
var Module = fx.Module("authentication", fx.Provide(provide))

// RemoteModule provides Authenticator and Directory served by a remote
// authentication service, over a connection from the graph's *rpc.Dialer
// pinned to the service's attested identity (its internal endpoint).
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
	Registrations []rpc.Registration `group:"grpc_services,flatten"`
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
	return result{Service: s, Authenticator: s, Directory: s, Registrations: []rpc.Registration{
		{Service: attestation.ServiceAuthentication, Kind: rpc.APIEndpoint, Register: func(r grpc.ServiceRegistrar) { RegisterAPI(r, s) }},
		{Service: attestation.ServiceAuthentication, Kind: rpc.InternalEndpoint, Register: func(r grpc.ServiceRegistrar) { RegisterInternal(r, s) }},
	}}, nil
}

type remoteResult struct {
	fx.Out
	Authenticator Authenticator
	Directory     Directory
}

func provideRemote(d *rpc.Dialer) (remoteResult, error) {
	cc, err := d.Conn(attestation.ServiceAuthentication)
	if err != nil {
		return remoteResult{}, err
	}
	c := NewClient(cc)
	return remoteResult{Authenticator: c, Directory: c}, nil
}
