package execution

import (
	"crypto/x509"
	"log/slog"

	"go.uber.org/fx"

	"github.com/teaclave-go/teaclave/execution/executor"
	"github.com/teaclave-go/teaclave/scheduler"
)

// Params are the node's dependencies in an fx graph. Executors come from
// the "executors" value group (e.g. builtin.Module); the main lists the
// executor modules it wants. OutboundRoots, if provided under the name
// "outbound_roots", are CAs compiled into the main for the file agent's
// https.
type Params struct {
	fx.In
	Config        Config
	Dispatcher    scheduler.Dispatcher
	Executors     []executor.Executor `group:"executors"`
	OutboundRoots []*x509.Certificate `name:"outbound_roots" optional:"true"`
	Logger        *slog.Logger        `optional:"true"`
	LC            fx.Lifecycle
}

// Module runs an execution node in this process, against the graph's
// Dispatcher: the scheduler itself (scheduler.Module) or a remote one
// (scheduler.RemoteModule).
var Module = fx.Module("execution",
	fx.Provide(func(p Params) (*Node, error) {
		n, err := New(p.Config.Defaults(), Deps{Dispatcher: p.Dispatcher, Executors: p.Executors, ExtraRoots: p.OutboundRoots, Logger: p.Logger})
		if err != nil {
			return nil, err
		}
		p.LC.Append(fx.Hook{OnStart: n.Start, OnStop: n.Stop})
		return n, nil
	}),
	// The node has no consumers: it must always be built.
	fx.Invoke(func(*Node) {}),
)
