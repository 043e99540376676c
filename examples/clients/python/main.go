// Command python is Teaclave's Python data fusion (functions.md §6 A7):
// two users each contribute a file (AES-GCM-128 and AES-GCM-256) to a
// python function that fuses them into a fusion output, kept sealed by the
// platform and owned by both. The second user then turns that output into
// the input of a second python function, which counts the lines holding a
// word; as the input belongs to both users, the task cannot run until both
// approve.
//
//	TEACLAVE_DATA_DIR=teaclave-data go run ./examples/clients/python -query teaclave
package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"os"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/examples/clients/internal/clientutil"
	"github.com/teaclave-go/teaclave/sdk"
)

//go:embed fusion.star
var fusionScript []byte

//go:embed count.star
var countScript []byte

var parties = []struct{ slot, schema, data string }{
	{"PartyA", sdk.SchemaAESGCM128, "u1_hello\nu1_teaclave\n"},
	{"PartyB", sdk.SchemaAESGCM256, "u2_welcome\nu2_to\nu2_teaclave\n"},
}

func progress(task string) func(sdk.TaskStatus) {
	return func(s sdk.TaskStatus) { fmt.Fprintln(os.Stderr, "task", task, s) }
}

func main() {
	var query string
	clientutil.Main("python", func(ctx context.Context, o *clientutil.Options, trust *sdk.Trust) error {
		users, err := o.Users(ctx, trust, teaclave.NewRole(teaclave.RoleNamePlatformAdmin, ""), "pyfusion_user0", "pyfusion_user1")
		if err != nil {
			return err
		}
		defer clientutil.CloseAll(users)
		u0, u1 := users[0], users[1]
		both := []string{u0.UserID(), u1.UserID()}

		// Task 1: fuse.
		fuse, err := u0.RegisterFunction(ctx, sdk.Function{
			Name: "python-data-fusion", Type: sdk.FunctionPython, Public: true, Payload: fusionScript,
			Inputs:  []sdk.Slot{{Name: "PartyA"}, {Name: "PartyB"}},
			Outputs: []sdk.Slot{{Name: "Fused"}},
		})
		if err != nil {
			return err
		}
		task, err := u0.CreateTask(ctx, sdk.TaskSpec{FunctionID: fuse, Executor: sdk.ExecutorMesaPy,
			InputOwners:  map[string][]string{"PartyA": {u0.UserID()}, "PartyB": {u1.UserID()}},
			OutputOwners: map[string][]string{"Fused": both}})
		if err != nil {
			return err
		}
		for i, c := range users {
			info, err := sdk.NewCryptoInfo(parties[i].schema)
			if err != nil {
				return err
			}
			name := fmt.Sprintf("fusion-%s-%d.enc", task, i)
			file, tag, err := sdk.Encrypt(info, name, []byte(parties[i].data))
			if err != nil {
				return err
			}
			if err := o.Put(ctx, name, file); err != nil {
				return err
			}
			in, err := c.RegisterInputFile(ctx, o.URL(name), tag, info)
			if err != nil {
				return err
			}
			if err := c.AssignData(ctx, task, map[string]string{parties[i].slot: in}, nil); err != nil {
				return err
			}
		}
		fused, err := u0.RegisterFusionOutput(ctx, both)
		if err != nil {
			return err
		}
		if err := u0.AssignData(ctx, task, nil, map[string]string{"Fused": fused}); err != nil {
			return err
		}
		for _, c := range users {
			if err := c.ApproveTask(ctx, task); err != nil {
				return err
			}
		}
		if err := u0.InvokeTask(ctx, task); err != nil {
			return err
		}
		res, err := u0.Wait(ctx, task, progress(task))
		if err != nil {
			return err
		}
		fmt.Println(string(res.ReturnValue))

		// Task 2: user1 counts lines in the fused data.
		count, err := u1.RegisterFunction(ctx, sdk.Function{
			Name: "python-line-count", Type: sdk.FunctionPython, Public: true, Payload: countScript,
			Arguments: []sdk.Argument{{Key: "query", AllowOverwrite: true}},
			Inputs:    []sdk.Slot{{Name: "Data"}},
		})
		if err != nil {
			return err
		}
		task2, err := u1.CreateTask(ctx, sdk.TaskSpec{FunctionID: count, Executor: sdk.ExecutorMesaPy,
			Arguments: map[string]any{"query": query}, InputOwners: map[string][]string{"Data": both}})
		if err != nil {
			return err
		}
		in, err := u1.RegisterInputFromOutput(ctx, fused)
		if err != nil {
			return err
		}
		if err := u1.AssignData(ctx, task2, map[string]string{"Data": in}, nil); err != nil {
			return err
		}
		if err := u1.ApproveTask(ctx, task2); err != nil {
			return err
		}
		if err := u1.InvokeTask(ctx, task2); err == nil {
			return fmt.Errorf("the count task ran without %s's approval", u0.UserID())
		}
		fmt.Printf("word count invoked before %s approved: refused\n", u0.UserID())
		if err := u0.ApproveTask(ctx, task2); err != nil {
			return err
		}
		if err := u1.InvokeTask(ctx, task2); err != nil {
			return err
		}
		res, err = u1.Wait(ctx, task2, progress(task2))
		if err != nil {
			return err
		}
		fmt.Println(string(res.ReturnValue))
		return nil
	}, func(fs *flag.FlagSet) {
		fs.StringVar(&query, "query", "teaclave", "the word to count lines of")
	})
}
