package accesscontrol

import (
	"context"
	"log/slog"

	"go.uber.org/fx"
	"google.golang.org/grpc"
)

// ConnName is the fx name of the connection RemoteModule takes:
// a grpc.ClientConnInterface tagged `name:"accesscontrol"`, pinned to the
// access control service's attested identity.
const ConnName = "accesscontrol"

// Module runs the access control service in this process. It provides the
// *Service and it as an Authorizer, and ties Start and Stop to the fx
// lifecycle. A Config in the graph is optional; Defaults() is used without
// one. The gRPC endpoint is contributed by the transport wiring (Register).
var Module = fx.Module("accesscontrol", fx.Provide(provide))

// RemoteModule provides an Authorizer that calls a remote access control
// service over the connection named ConnName.
var RemoteModule = fx.Module("accesscontrol-remote", fx.Provide(provideRemote))

type params struct {
	fx.In
	Lifecycle fx.Lifecycle
	Config    *Config      `optional:"true"`
	Logger    *slog.Logger `optional:"true"`
}

type result struct {
	fx.Out
	Service    *Service
	Authorizer Authorizer
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
	return result{Service: s, Authorizer: s}, nil
}

type remoteParams struct {
	fx.In
	Conn grpc.ClientConnInterface `name:"accesscontrol"`
}

func provideRemote(p remoteParams) Authorizer { return NewClient(p.Conn) }
