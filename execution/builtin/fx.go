package builtin

import (
	"go.uber.org/fx"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// Module contributes the built-in executor, with the functions this
// package ships, to the "executors" value group that execution nodes run
// tasks with.
var Module = fx.Module("builtin-executor",
	fx.Provide(fx.Annotate(
		func() (executor.Executor, error) { return New() },
		fx.ResultTags(`group:"executors"`),
	)),
)
