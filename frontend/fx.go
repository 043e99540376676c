package frontend

import (
	"log/slog"

	"go.uber.org/fx"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/management"
	"github.com/teaclave-go/teaclave/rpc"
)

// Params are the frontend's dependencies in an fx graph. The graph must
// provide an Authenticator and an Authorizer (the authentication and
// access-control services, or their clients, as these interfaces) and a
// management.API (management.Module or management.RemoteModule).
type Params struct {
	fx.In
	Config        Config
	Authenticator Authenticator
	Authorizer    Authorizer
	Management    management.API
	Logger        *slog.Logger `optional:"true"`
	LC            fx.Lifecycle
}

// Result is what Module contributes.
type Result struct {
	fx.Out
	Service      *Service
	API          API
	Registration rpc.Registration `group:"grpc_services"`
}

// Module runs the frontend in this process: it provides it as API, runs
// its audit agent between start and stop, and contributes its gRPC
// service to the API endpoint.
var Module = fx.Module("frontend",
	fx.Provide(func(p Params) (Result, error) {
		svc, err := New(p.Config.Defaults(), Deps{Authenticator: p.Authenticator, Authorizer: p.Authorizer, Management: p.Management, Logger: p.Logger})
		if err != nil {
			return Result{}, err
		}
		p.LC.Append(fx.Hook{OnStart: svc.Start, OnStop: svc.Stop})
		return Result{
			Service:      svc,
			API:          svc,
			Registration: rpc.Registration{Service: attestation.ServiceFrontend, Kind: rpc.APIEndpoint, Register: svc.Register},
		}, nil
	}),
)

// RemoteModule provides an API served by a remote frontend, over a
// connection from the graph's *rpc.Dialer that verifies the frontend's
// attestation.
var RemoteModule = fx.Module("frontend-remote",
	fx.Provide(func(d *rpc.Dialer) (API, error) {
		cc, err := d.Conn(attestation.ServiceFrontend)
		if err != nil {
			return nil, err
		}
		return NewClient(cc), nil
	}),
)
