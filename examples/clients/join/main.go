// Command join is Teaclave's private join and compute (functions.md §6 A4)
// with builtin-private-join-and-compute: three banks each hold a private
// table of "name: amount" lines; a function owner publishes the function
// and a fourth data owner, who holds no data, creates the task. Each bank encrypts and uploads its table, registers an
// AES-GCM-256 output, assigns both and approves; so does the creator. Every
// bank then receives, encrypted under its own key, the sums of the amounts
// of the names all three know, and nothing else.
//
//	TEACLAVE_DATA_DIR=teaclave-data go run ./examples/clients/join -storage http://127.0.0.1:6789
package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/examples/clients/internal/clientutil"
	"github.com/teaclave-go/teaclave/sdk"
)

// The banks' tables.
var tables = []string{
	"alice: 100\nbob: 2000\ncarol: 30\ndave: 4\n",
	"bob: 1000\ncarol: 70\nerin: 5\n",
	"carol: 900\nbob: 7000\nfrank: 6\ndave: 1\n",
}

func run(ctx context.Context, o *clientutil.Options, trust *sdk.Trust) error {
	// Function owners publish functions; data owners run tasks on data.
	owners, err := o.Users(ctx, trust, teaclave.NewRole(teaclave.RoleNameFunctionOwner, ""), "join_function_owner")
	if err != nil {
		return err
	}
	defer clientutil.CloseAll(owners)
	dataOwners, err := o.Users(ctx, trust, teaclave.NewRole(teaclave.RoleNameDataOwner, "banks"), "join_creator", "join_bank0", "join_bank1", "join_bank2")
	if err != nil {
		return err
	}
	defer clientutil.CloseAll(dataOwners)
	creator, banks := dataOwners[0], dataOwners[1:]

	fn := sdk.Function{
		Name: "builtin-private-join-and-compute", Type: sdk.FunctionBuiltin, Public: true,
		Arguments: []sdk.Argument{{Key: "num_user", AllowOverwrite: true}},
	}
	spec := sdk.TaskSpec{Executor: sdk.ExecutorBuiltin, Arguments: map[string]any{"num_user": len(banks)},
		InputOwners: map[string][]string{}, OutputOwners: map[string][]string{}}
	for i, b := range banks {
		fn.Inputs = append(fn.Inputs, sdk.Slot{Name: fmt.Sprintf("input_data%d", i)})
		fn.Outputs = append(fn.Outputs, sdk.Slot{Name: fmt.Sprintf("output_data%d", i)})
		spec.InputOwners[fmt.Sprintf("input_data%d", i)] = []string{b.UserID()}
		spec.OutputOwners[fmt.Sprintf("output_data%d", i)] = []string{b.UserID()}
	}
	if spec.FunctionID, err = owners[0].RegisterFunction(ctx, fn); err != nil {
		return fmt.Errorf("register function: %w", err)
	}
	task, err := creator.CreateTask(ctx, spec)
	if err != nil {
		return fmt.Errorf("create task: %w", err)
	}

	outInfo := make([]sdk.CryptoInfo, len(banks))
	outName := make([]string, len(banks))
	for i, b := range banks {
		info, err := sdk.NewCryptoInfo(sdk.SchemaAESGCM256)
		if err != nil {
			return err
		}
		inName := fmt.Sprintf("join-%s-bank%d.enc", task, i)
		file, tag, err := sdk.Encrypt(info, inName, []byte(tables[i]))
		if err != nil {
			return err
		}
		if err := o.Put(ctx, inName, file); err != nil {
			return err
		}
		in, err := b.RegisterInputFile(ctx, o.URL(inName), tag, info)
		if err != nil {
			return fmt.Errorf("%s registers its input: %w", b.UserID(), err)
		}
		if outInfo[i], err = sdk.NewCryptoInfo(sdk.SchemaAESGCM256); err != nil {
			return err
		}
		outName[i] = fmt.Sprintf("join-%s-result%d.enc", task, i)
		out, err := b.RegisterOutputFile(ctx, o.URL(outName[i]), outInfo[i])
		if err != nil {
			return err
		}
		if err := b.AssignData(ctx, task, map[string]string{fmt.Sprintf("input_data%d", i): in}, map[string]string{fmt.Sprintf("output_data%d", i): out}); err != nil {
			return err
		}
	}
	// Every participant approves.
	t, err := creator.GetTask(ctx, task)
	if err != nil {
		return err
	}
	for _, c := range append(owners, dataOwners...) {
		if !slices.Contains(t.Participants, c.UserID()) {
			continue
		}
		if err := c.ApproveTask(ctx, task); err != nil {
			return fmt.Errorf("%s approves: %w", c.UserID(), err)
		}
	}
	if err := creator.InvokeTask(ctx, task); err != nil {
		return err
	}
	res, err := creator.Wait(ctx, task, func(s sdk.TaskStatus) { fmt.Fprintln(os.Stderr, "task", task, s) })
	if err != nil {
		return err
	}
	fmt.Println(string(res.ReturnValue))
	for i, b := range banks {
		t, err := b.GetTask(ctx, task)
		if err != nil {
			return err
		}
		tag := t.Result.Tags[fmt.Sprintf("output_data%d", i)]
		file, err := o.Get(ctx, outName[i])
		if err != nil {
			return err
		}
		plain, _, err := sdk.Decrypt(outInfo[i], outName[i], file, &tag)
		if err != nil {
			return err
		}
		// The function writes the lines in no fixed order.
		lines := strings.Split(strings.TrimSpace(string(plain)), "\n")
		slices.Sort(lines)
		fmt.Printf("%s: %s\n", b.UserID(), strings.Join(lines, "; "))
	}
	return nil
}

func main() { clientutil.Main("join", run, nil) }
