package rpc

import (
	"context"

	"go.uber.org/fx"
)

// DialerModule provides a *Dialer from the graph's *Transport and
// Endpoints, closing its connections when the application stops. Services'
// RemoteModules take their connections from it.
var DialerModule = fx.Module("rpc-dialer",
	fx.Provide(func(lc fx.Lifecycle, t *Transport, eps Endpoints) *Dialer {
		d := NewDialer(t, eps)
		lc.Append(fx.Hook{OnStop: func(context.Context) error { return d.Close() }})
		return d
	}),
)
