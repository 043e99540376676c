package scheduler

import (
	"log/slog"

	"go.uber.org/fx"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/rpc"
)

// Params are the scheduler's dependencies in an fx graph.
type Params struct {
	fx.In
	Config Config
	Store  teaclave.Store
	Logger *slog.Logger `optional:"true"`
	LC     fx.Lifecycle
}

// Result is what Module contributes.
type Result struct {
	fx.Out
	Service      *Service
	Dispatcher   Dispatcher
	Registration rpc.Registration `group:"grpc_services"`
}

// Module runs the scheduler in this process: it provides it as
// Dispatcher (in-process execution nodes call it directly), starts and
// stops it with the application, and contributes its gRPC services to the
// internal endpoint for execution nodes in other processes.
var Module = fx.Module("scheduler",
	fx.Provide(func(p Params) (Result, error) {
		svc, err := New(p.Config.Defaults(), Deps{Store: p.Store, Logger: p.Logger})
		if err != nil {
			return Result{}, err
		}
		p.LC.Append(fx.Hook{OnStart: svc.Start, OnStop: svc.Stop})
		return Result{
			Service:      svc,
			Dispatcher:   svc,
			Registration: rpc.Registration{Service: attestation.ServiceScheduler, Kind: rpc.InternalEndpoint, Register: svc.Register},
		}, nil
	}),
)

// RemoteModule provides a Dispatcher served by a remote scheduler, over a
// connection from the graph's *rpc.Dialer pinned to the scheduler's
// attested identity. The process's transport must be the execution
// service's: the scheduler admits no one else.
var RemoteModule = fx.Module("scheduler-remote",
	fx.Provide(func(d *rpc.Dialer) (Dispatcher, error) {
		cc, err := d.Conn(attestation.ServiceScheduler)
		if err != nil {
			return nil, err
		}
		return NewClient(cc), nil
	}),
)
