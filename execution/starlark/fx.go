package starlark

import (
	"go.uber.org/fx"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// Module contributes a Python-style executor with the default Config to
// the "executors" value group.
var Module = ModuleWith(Config{})

// ModuleWith contributes a Python-style executor configured by cfg to the
// "executors" value group.
func ModuleWith(cfg Config) fx.Option {
	return fx.Module("starlark-executor",
		fx.Provide(fx.Annotate(
			func() (executor.Executor, error) { return New(cfg) },
			fx.ResultTags(`group:"executors"`),
		)),
	)
}
