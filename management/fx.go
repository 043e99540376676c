package management

import (
	"log/slog"

	"go.uber.org/fx"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/rpc"
)

// Params are the management service's dependencies in an fx graph. The
// graph must provide a Directory (for example auth's service or client,
// annotated as management.Directory).
type Params struct {
	fx.In
	Config    Config
	Store     teaclave.Store
	Directory Directory
	Logger    *slog.Logger `optional:"true"`
	LC        fx.Lifecycle
}

// Result is what Module contributes.
type Result struct {
	fx.Out
	Service      *Service
	API          API
	Registration rpc.Registration `group:"grpc_services"`
}

// Module runs the management service in this process: it provides it as
// API and contributes its gRPC service to the internal endpoint.
var Module = fx.Module("management",
	fx.Provide(func(p Params) (Result, error) {
		svc, err := New(p.Config.Defaults(), Deps{Store: p.Store, Directory: p.Directory, Logger: p.Logger})
		if err != nil {
			return Result{}, err
		}
		p.LC.Append(fx.Hook{OnStart: svc.Start, OnStop: svc.Stop})
		return Result{
			Service:      svc,
			API:          svc,
			Registration: rpc.Registration{Service: attestation.ServiceManagement, Kind: rpc.InternalEndpoint, Register: svc.Register},
		}, nil
	}),
)

// RemoteModule provides an API served by a remote management service,
// over a connection from the graph's *rpc.Dialer pinned to the management
// service's attested identity.
var RemoteModule = fx.Module("management-remote",
	fx.Provide(func(d *rpc.Dialer) (API, error) {
		cc, err := d.Conn(attestation.ServiceManagement)
		if err != nil {
			return nil, err
		}
		return NewClient(cc), nil
	}),
)
