// Command password is Teaclave's password check (functions.md §6 A5) with
// builtin-password-check: a user learns whether its password is in a
// breach list that another user holds, without either seeing the other's
// data. The password travels inside the registration as a data: URL
// (AES-GCM-128); the list is a protected file (teaclave-file-128) on the
// file storage. The function has no outputs: the answer is its result.
//
//	TEACLAVE_DATA_DIR=teaclave-data go run ./examples/clients/password -password-to-check hunter2
package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/examples/clients/internal/clientutil"
	"github.com/teaclave-go/teaclave/sdk"
)

// exposed is the breach list the second user holds.
var exposed = []string{"123456", "password", "12345678", "qwerty", "hunter2", "letmein", "dragon", "iloveyou"}

func main() {
	var candidate string
	clientutil.Main("password", func(ctx context.Context, o *clientutil.Options, trust *sdk.Trust) error {
		users, err := o.Users(ctx, trust, teaclave.NewRole(teaclave.RoleNamePlatformAdmin, ""), "pwcheck_user", "pwcheck_list_owner")
		if err != nil {
			return err
		}
		defer clientutil.CloseAll(users)
		user, owner := users[0], users[1]
		fn, err := user.RegisterFunction(ctx, sdk.Function{
			Name: "builtin-password-check", Type: sdk.FunctionBuiltin, Public: true,
			Inputs: []sdk.Slot{{Name: "password"}, {Name: "exposed_passwords"}},
		})
		if err != nil {
			return err
		}
		task, err := user.CreateTask(ctx, sdk.TaskSpec{FunctionID: fn, Executor: sdk.ExecutorBuiltin,
			InputOwners: map[string][]string{"password": {user.UserID()}, "exposed_passwords": {owner.UserID()}}})
		if err != nil {
			return err
		}

		// The password, inline.
		info, err := sdk.NewCryptoInfo(sdk.SchemaAESGCM128)
		if err != nil {
			return err
		}
		file, tag, err := sdk.Encrypt(info, "", []byte(candidate+"\n"))
		if err != nil {
			return err
		}
		pw, err := user.RegisterInputFile(ctx, sdk.DataURL(file), tag, info)
		if err != nil {
			return err
		}
		if err := user.AssignData(ctx, task, map[string]string{"password": pw}, nil); err != nil {
			return err
		}

		// The list, on the storage.
		listInfo, err := sdk.NewCryptoInfo(sdk.SchemaTeaclaveFile128)
		if err != nil {
			return err
		}
		name := "exposed-" + task + ".enc"
		listFile, listTag, err := sdk.Encrypt(listInfo, name, []byte(strings.Join(exposed, "\n")+"\n"))
		if err != nil {
			return err
		}
		if err := o.Put(ctx, name, listFile); err != nil {
			return err
		}
		list, err := owner.RegisterInputFile(ctx, o.URL(name), listTag, listInfo)
		if err != nil {
			return err
		}
		if err := owner.AssignData(ctx, task, map[string]string{"exposed_passwords": list}, nil); err != nil {
			return err
		}

		for _, c := range users {
			if err := c.ApproveTask(ctx, task); err != nil {
				return err
			}
		}
		if err := user.InvokeTask(ctx, task); err != nil {
			return err
		}
		res, err := user.Wait(ctx, task, nil)
		if err != nil {
			return err
		}
		fmt.Printf("exposed: %s\n", res.ReturnValue)
		return nil
	}, func(fs *flag.FlagSet) {
		fs.StringVar(&candidate, "password-to-check", "hunter2", "the password to look up")
	})
}
