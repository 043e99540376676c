package accesscontrol

import (
	"context"
	"log/slog"

	"go.uber.org/fx"
	"google.golang.org/grpc"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/rpc"
)

// Module runs the access control service in this process. It provides the
// *Service and it as an Authorizer, and ties Start and Stop to the fx
// lifecycle. A Config in the graph is optional; Defaults() is used without
// one. It contributes its gRPC service (Register) to the internal endpoint
// through the "grpc_services" group.
var Module = fx.Module("accesscontrol", fx.Provide(provide))

// RemoteModule provides an Authorizer that calls a remote access control
// service, over a connection from the graph's *rpc.Dialer pinned to the
// service's attested identity.
var RemoteModule = fx.Module("accesscontrol-remote", fx.Provide(provideRemote))

type params struct {
	fx.In
	Lifecycle fx.Lifecycle
	Config    *Config      `optional:"true"`
	Logger    *slog.Logger `optional:"true"`
}

type result struct {
	fx.Out
	Service      *Service
	Authorizer   Authorizer
	Registration rpc.Registration `group:"grpc_services"`
}

func provide(p params) (result, error) {
	cfg := Defaults()
	if p.Config != nil {
		cfg = *p.Config
	}
	s, err := New(cfg, Deps{Logger: p.Logger})
	if err != nil {
		return result{}, err
	}
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(ctx context.Context) error { return s.Start(ctx) },
		OnStop:  func(ctx context.Context) error { return s.Stop(ctx) },
	})
	return result{Service: s, Authorizer: s, Registration: rpc.Registration{
		Service:  attestation.ServiceAccessControl,
		Kind:     rpc.InternalEndpoint,
		Register: func(r grpc.ServiceRegistrar) { Register(r, s) },
	}}, nil
}

func provideRemote(d *rpc.Dialer) (Authorizer, error) {
	cc, err := d.Conn(attestation.ServiceAccessControl)
	if err != nil {
		return nil, err
	}
	return NewClient(cc), nil
}
