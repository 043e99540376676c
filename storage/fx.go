package storage

import (
	"log/slog"

	"go.uber.org/fx"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/rpc"
)

// Params are the storage service's dependencies in an fx graph.
type Params struct {
	fx.In
	Config Config
	Sealer attestation.Sealer
	Logger *slog.Logger `optional:"true"`
	LC     fx.Lifecycle
}

// Result is what Module contributes.
type Result struct {
	fx.Out
	Service      *Service
	Store        teaclave.Store
	Registration rpc.Registration `group:"grpc_services"`
}

// Module runs the storage service in this process: it provides the
// service as teaclave.Store, opens the database on start and closes it on
// stop, and contributes its gRPC services to the internal endpoint.
var Module = fx.Module("storage",
	fx.Provide(func(p Params) (Result, error) {
		svc, err := New(p.Config.Defaults(), Deps{Sealer: p.Sealer, Logger: p.Logger})
		if err != nil {
			return Result{}, err
		}
		p.LC.Append(fx.Hook{OnStart: svc.Start, OnStop: svc.Stop})
		return Result{
			Service:      svc,
			Store:        svc,
			Registration: rpc.Registration{Service: attestation.ServiceStorage, Kind: rpc.InternalEndpoint, Register: svc.Register},
		}, nil
	}),
)

// RemoteModule provides a teaclave.Store served by a remote storage
// service, over a connection from the graph's *rpc.Dialer pinned to the
// storage service's attested identity.
var RemoteModule = fx.Module("storage-remote",
	fx.Provide(func(d *rpc.Dialer) (teaclave.Store, error) {
		cc, err := d.Conn(attestation.ServiceStorage)
		if err != nil {
			return nil, err
		}
		return NewClient(cc), nil
	}),
)
