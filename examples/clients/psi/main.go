// Command psi is Teaclave's two-party private set intersection (functions.md
// §6 A3) with builtin-ordered-set-intersect: user0 and user1 each encrypt a
// sorted set on their side, upload it to the file storage, register it,
// assign it and approve; neither sees the other's set. Each then downloads
// and decrypts an output that marks which of its own items are common.
//
//	TEACLAVE_DATA_DIR=teaclave-data go run ./examples/clients/psi -storage http://127.0.0.1:6789
package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/examples/clients/internal/clientutil"
	"github.com/teaclave-go/teaclave/sdk"
)

// The two parties' sets: email addresses, as a contact-discovery demo.
var sets = [2][]string{
	{"alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com", "erin@example.com"},
	{"bob@example.com", "dave@example.com", "frank@example.com", "erin@example.com"},
}

// hexLines is the function's input format: one hex item per line, sorted.
func hexLines(items []string) []byte {
	enc := make([]string, len(items))
	for i, s := range items {
		enc[i] = hex.EncodeToString([]byte(s))
	}
	slices.Sort(enc)
	return []byte(strings.Join(enc, "\n") + "\n")
}

// sortedItems is items in the function's order (by hex, which is byte
// order).
func sortedItems(items []string) []string {
	s := slices.Clone(items)
	slices.Sort(s)
	return s
}

func run(ctx context.Context, o *clientutil.Options, trust *sdk.Trust) error {
	users, err := o.Users(ctx, trust, teaclave.NewRole(teaclave.RoleNamePlatformAdmin, ""), "psi_user0", "psi_user1")
	if err != nil {
		return err
	}
	defer clientutil.CloseAll(users)
	fn, err := users[0].RegisterFunction(ctx, sdk.Function{
		Name: "builtin-ordered-set-intersect", Type: sdk.FunctionBuiltin, Public: true,
		Arguments: []sdk.Argument{{Key: "order", AllowOverwrite: true}},
		Inputs:    []sdk.Slot{{Name: "input_data1"}, {Name: "input_data2"}},
		Outputs:   []sdk.Slot{{Name: "output_result1"}, {Name: "output_result2"}},
	})
	if err != nil {
		return err
	}
	ids := []string{users[0].UserID(), users[1].UserID()}
	task, err := users[0].CreateTask(ctx, sdk.TaskSpec{
		FunctionID: fn, Executor: sdk.ExecutorBuiltin, Arguments: map[string]any{"order": "ascending"},
		InputOwners:  map[string][]string{"input_data1": {ids[0]}, "input_data2": {ids[1]}},
		OutputOwners: map[string][]string{"output_result1": {ids[0]}, "output_result2": {ids[1]}},
	})
	if err != nil {
		return err
	}
	outInfo := make([]sdk.CryptoInfo, 2)
	outName := make([]string, 2)
	for i, c := range users {
		// user0 uses the protected-file format, user1 AES-GCM-128.
		info, err := sdk.NewCryptoInfo([]string{sdk.SchemaTeaclaveFile128, sdk.SchemaAESGCM128}[i])
		if err != nil {
			return err
		}
		name := fmt.Sprintf("psi-%s-input.enc", task)
		if i == 1 {
			name = fmt.Sprintf("psi-%s-input2.enc", task)
		}
		file, tag, err := sdk.Encrypt(info, name, hexLines(sets[i]))
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
		if outInfo[i], err = sdk.NewCryptoInfo(sdk.SchemaTeaclaveFile128); err != nil {
			return err
		}
		outName[i] = fmt.Sprintf("psi-%s-result%d.enc", task, i+1)
		out, err := c.RegisterOutputFile(ctx, o.URL(outName[i]), outInfo[i])
		if err != nil {
			return err
		}
		slot := fmt.Sprint(i + 1)
		if err := c.AssignData(ctx, task, map[string]string{"input_data" + slot: in}, map[string]string{"output_result" + slot: out}); err != nil {
			return err
		}
	}
	for _, c := range users {
		if err := c.ApproveTask(ctx, task); err != nil {
			return err
		}
	}
	if err := users[0].InvokeTask(ctx, task); err != nil {
		return err
	}
	res, err := users[0].Wait(ctx, task, func(s sdk.TaskStatus) { fmt.Fprintln(os.Stderr, "task", task, s) })
	if err != nil {
		return err
	}
	fmt.Println(string(res.ReturnValue))
	for i, c := range users {
		// Each user reads the cmac of its own output from the task.
		t, err := c.GetTask(ctx, task)
		if err != nil {
			return err
		}
		tag := t.Result.Tags[fmt.Sprintf("output_result%d", i+1)]
		file, err := o.Get(ctx, outName[i])
		if err != nil {
			return err
		}
		marks, _, err := sdk.Decrypt(outInfo[i], outName[i], file, &tag)
		if err != nil {
			return err
		}
		var common []string
		for j, item := range sortedItems(sets[i]) {
			if j < len(marks) && marks[j] == '1' {
				common = append(common, item)
			}
		}
		fmt.Printf("%s: %s (%s)\n", c.UserID(), marks, strings.Join(common, ", "))
	}
	return nil
}

func main() { clientutil.Main("psi", run, nil) }
