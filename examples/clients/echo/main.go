// Command echo runs Teaclave's builtin echo function (functions.md §6 A2):
// one user, no files, no approvals. It prints the function's result.
//
//	TEACLAVE_DATA_DIR=teaclave-data go run ./examples/clients/echo -message 'Hello From Teaclave!'
package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/teaclave-go/teaclave/examples/clients/internal/clientutil"
	"github.com/teaclave-go/teaclave/sdk"
)

func main() {
	var message string
	clientutil.Main("echo", func(ctx context.Context, o *clientutil.Options, trust *sdk.Trust) error {
		c, err := o.Connect(ctx, trust, o.AdminUser, o.AdminPassword)
		if err != nil {
			return err
		}
		defer c.Close()
		fn, err := c.RegisterFunction(ctx, sdk.Function{
			Name: "builtin-echo", Type: sdk.FunctionBuiltin, Public: true,
			Arguments: []sdk.Argument{{Key: "message", AllowOverwrite: true}},
		})
		if err != nil {
			return err
		}
		task, err := c.CreateTask(ctx, sdk.TaskSpec{FunctionID: fn, Executor: sdk.ExecutorBuiltin, Arguments: map[string]any{"message": message}})
		if err != nil {
			return err
		}
		if err := c.InvokeTask(ctx, task); err != nil {
			return err
		}
		res, err := c.Wait(ctx, task, nil)
		if err != nil {
			return err
		}
		fmt.Println(string(res.ReturnValue))
		return nil
	}, func(fs *flag.FlagSet) {
		fs.StringVar(&message, "message", "Hello From Teaclave!", "the message to echo")
	})
}
