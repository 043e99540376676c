package wasm

import (
	"context"

	"go.uber.org/fx"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// Module contributes a WebAssembly executor with the default Config
// (compiler engine) to the "executors" value group.
var Module = ModuleWith(Config{})

// ModuleWith contributes a WebAssembly executor configured by cfg to the
// "executors" value group; SGX builds pass Engine: EngineInterpreter. The
// executor is closed when the application stops.
func ModuleWith(cfg Config) fx.Option {
	return fx.Module("wasm-executor",
		fx.Provide(fx.Annotate(
			func(lc fx.Lifecycle) (executor.Executor, error) {
				e, err := New(context.Background(), cfg)
				if err != nil {
					return nil, err
				}
				lc.Append(fx.StopHook(e.Close))
				return e, nil
			},
			fx.ResultTags(`group:"executors"`),
		)),
	)
}
