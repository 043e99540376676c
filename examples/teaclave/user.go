package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/teaclave-go/teaclave"
)

func userCommand() *command {
	return &command{name: "user", summary: "manage users (register, update, list, delete, passwords)", sub: []*command{
		{name: "register", summary: "register a user", run: runUserRegister},
		{name: "update", summary: "replace a user's role and password", run: runUserUpdate},
		{name: "list", summary: "list the users you manage", run: runUserList},
		{name: "delete", summary: "delete a user", run: runUserDelete},
		{name: "reset-password", summary: "give a user a new random password", run: runUserResetPassword},
		{name: "change-password", summary: "change your own password", run: runUserChangePassword},
	}}
}

const roleHelp = "role: PlatformAdmin, FunctionOwner, DataOwnerManager or DataOwner; the last two take --attribute (or write DataOwner-ATTR)"

// parseRoleFlag splits a role given as NAME or NAME-ATTR (the claims form)
// into the registration form, and checks it.
func parseRoleFlag(role, attribute string) (string, string, error) {
	if role == "" {
		return "", "", usagef("--role is required (%s)", roleHelp)
	}
	name, attr := role, attribute
	if n, a, ok := strings.Cut(role, "-"); ok {
		if attribute != "" {
			return "", "", usagef("give the attribute in --role %s or in --attribute, not both", role)
		}
		name, attr = n, a
	}
	r := teaclave.NewRole(name, attr)
	if !r.Valid() {
		return "", "", usagef("invalid --role %q (%s)", role, roleHelp)
	}
	return r.Name(), attr, nil
}

func registerOrUpdate(a *app, args []string, update bool) error {
	var c connFlags
	var role, attribute string
	verb, about := "register", "Registers user ID. Its password is read from TEACLAVE_NEW_PASSWORD, else asked twice\non a terminal, else read from the first line of standard input."
	if update {
		verb, about = "update", "Replaces the role and password of user ID (ending its sessions). The new password is\nread as for register: TEACLAVE_NEW_PASSWORD, a prompt, or the first line of standard input."
	}
	f := a.newFlags("teaclave user "+verb, "ID --role ROLE [--attribute ATTR] [flags]", about)
	f.StringVar(&role, "role", "", roleHelp)
	f.StringVar(&attribute, "attribute", "", "attribute of a DataOwnerManager or DataOwner role")
	c.register(f, true)
	pos, err := f.parseN(args, "ID")
	if err != nil {
		return err
	}
	name, attr, err := parseRoleFlag(role, attribute)
	if err != nil {
		return err
	}
	s, err := a.openSession(&c)
	if err != nil {
		return err
	}
	defer s.Close()
	password, err := a.secret("Password for "+pos[0], envNewPassword, true)
	if err != nil {
		return err
	}
	api, ctx := s.auth()
	if update {
		err = api.UserUpdate(ctx, pos[0], password, name, attr)
	} else {
		err = api.UserRegister(ctx, pos[0], password, name, attr)
	}
	if err != nil {
		return s.platformError(verb+" user "+pos[0], err)
	}
	fmt.Fprintf(a.stdout, "%s %s (%s).\n", map[bool]string{false: "Registered", true: "Updated"}[update], pos[0], teaclave.NewRole(name, attr))
	return nil
}

func runUserRegister(a *app, args []string) error { return registerOrUpdate(a, args, false) }
func runUserUpdate(a *app, args []string) error   { return registerOrUpdate(a, args, true) }

// tokenRole reads the role claim of a JWT without verifying it.
func tokenRole(token string) teaclave.Role {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return teaclave.Role{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return teaclave.Role{}
	}
	var claims struct {
		Role string `json:"role"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return teaclave.Role{}
	}
	return teaclave.ParseRole(claims.Role)
}

func runUserList(a *app, args []string) error {
	var c connFlags
	var out output
	var attribute string
	f := a.newFlags("teaclave user list", "[--attribute ATTR] [flags]", "Lists every user (PlatformAdmin), or the DataOwner users of your attribute (DataOwnerManager).")
	f.StringVar(&attribute, "attribute", "", "attribute whose DataOwner users to list (default: a DataOwnerManager's own attribute)")
	c.register(f, true)
	out.register(f)
	if _, err := f.parseN(args); err != nil {
		return err
	}
	s, err := a.openSession(&c)
	if err != nil {
		return err
	}
	defer s.Close()
	id := attribute
	if id == "" {
		if r := tokenRole(s.login.Token); r.Name() == teaclave.RoleNameDataOwnerManager {
			id = r.Attribute
		} else {
			id = s.login.ID
		}
	}
	api, ctx := s.auth()
	ids, err := api.ListUsers(ctx, id)
	if err != nil {
		return s.platformError("list users", err)
	}
	if ids == nil {
		ids = []string{}
	}
	return a.print(&out, map[string]any{"users": ids}, func(w io.Writer) {
		for _, id := range ids {
			fmt.Fprintln(w, id)
		}
	})
}

func runUserDelete(a *app, args []string) error {
	var c connFlags
	f := a.newFlags("teaclave user delete", "ID [flags]", "Deletes user ID; its sessions end.")
	c.register(f, true)
	pos, err := f.parseN(args, "ID")
	if err != nil {
		return err
	}
	s, err := a.openSession(&c)
	if err != nil {
		return err
	}
	defer s.Close()
	api, ctx := s.auth()
	if err := api.DeleteUser(ctx, pos[0]); err != nil {
		return s.platformError("delete user "+pos[0], err)
	}
	fmt.Fprintf(a.stdout, "Deleted %s.\n", pos[0])
	return nil
}

func runUserResetPassword(a *app, args []string) error {
	var c connFlags
	var out output
	f := a.newFlags("teaclave user reset-password", "ID [flags]", "Gives user ID a new random password and prints it (on standard output only).")
	c.register(f, true)
	out.register(f)
	pos, err := f.parseN(args, "ID")
	if err != nil {
		return err
	}
	s, err := a.openSession(&c)
	if err != nil {
		return err
	}
	defer s.Close()
	api, ctx := s.auth()
	pw, err := api.ResetUserPassword(ctx, pos[0])
	if err != nil {
		return s.platformError("reset the password of "+pos[0], err)
	}
	return a.print(&out, map[string]string{"id": pos[0], "password": pw}, func(w io.Writer) { fmt.Fprintln(w, pw) })
}

func runUserChangePassword(a *app, args []string) error {
	var c connFlags
	f := a.newFlags("teaclave user change-password", "[flags]", "Changes your password. The new one is read from TEACLAVE_NEW_PASSWORD, else asked twice on a\nterminal, else read from the first line of standard input. Your sessions end: log in again.")
	c.register(f, true)
	if _, err := f.parseN(args); err != nil {
		return err
	}
	s, err := a.openSession(&c)
	if err != nil {
		return err
	}
	defer s.Close()
	pw, err := a.secret("New password", envNewPassword, true)
	if err != nil {
		return err
	}
	api, ctx := s.auth()
	if err := api.UserChangePassword(ctx, pw); err != nil {
		return s.platformError("change password", err)
	}
	fmt.Fprintf(a.stdout, "Changed the password of %s: run `teaclave login --id %s` again.\n", s.login.ID, s.login.ID)
	return nil
}
