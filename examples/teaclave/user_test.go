//go:build !teaclave_production

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave/examples/deploy"
	"github.com/teaclave-go/teaclave/examples/deploy/deploytest"
)

func TestLogin(t *testing.T) {
	c := withPlatform(t)

	// Not logged in yet: say what to do.
	c.fail(exitError, []string{"not logged in", "teaclave login"}, "function", "list")

	// Wrong password: exit 1, the platform's word, and no session saved.
	c.failIn("wrong\n", nil, exitError, []string{"authentication failed", "check the user id and password"}, "login", "--id", "admin")
	if _, err := os.Stat(filepath.Join(c.env["XDG_CONFIG_HOME"], "teaclave", "credentials.json")); !os.IsNotExist(err) {
		t.Fatalf("credentials saved after a failed login: %v", err)
	}

	// No password anywhere: a clear error, never a hang.
	c.failIn("", nil, exitError, []string{"no Password for admin", "TEACLAVE_PASSWORD"}, "login", "--id", "admin")

	// Password from stdin; the credentials file is private.
	out := c.okIn("teaclave\n", nil, "login", "--id", "admin")
	if !strings.Contains(out, "Logged in as admin") {
		t.Fatalf("login said %q", out)
	}
	path := filepath.Join(c.env["XDG_CONFIG_HOME"], "teaclave", "credentials.json")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials mode %v, want 0600", st.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "teaclave\"") {
		t.Fatal("the password was saved")
	}
	if got := c.ok("whoami"); got != "admin" {
		t.Fatalf("whoami = %q", got)
	}

	// Password from the environment, TEACLAVE_CONFIG overriding the path,
	// id from TEACLAVE_USER.
	other := filepath.Join(t.TempDir(), "creds.json")
	c.okIn("", []string{"TEACLAVE_PASSWORD=teaclave", "TEACLAVE_CONFIG=" + other, "TEACLAVE_USER=admin"}, "login")
	if _, err := os.Stat(other); err != nil {
		t.Fatalf("TEACLAVE_CONFIG not honoured: %v", err)
	}

	// A credentials file others can read is refused.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	c.fail(exitError, []string{"readable by others", "chmod 600"}, "whoami")
	os.Chmod(path, 0o600)

	// A corrupted token: the platform refuses it and the CLI says to log in.
	var creds credentials
	json.Unmarshal(data, &creds)
	l := creds.Logins["admin"]
	l.Token = "x" + l.Token[1:]
	creds.Logins["admin"] = l
	if err := creds.save(path); err != nil {
		t.Fatal(err)
	}
	c.fail(exitError, []string{"teaclave login --id admin"}, "function", "list")

	// logout forgets the session.
	c.login("admin", "teaclave")
	c.ok("logout")
	c.fail(exitError, []string{"not logged in"}, "whoami")
}

func TestUser(t *testing.T) {
	c := withPlatform(t)
	c.login("admin", "teaclave")

	// register: password from stdin, from TEACLAVE_NEW_PASSWORD.
	c.okIn("secret1\n", nil, "user", "register", "alice", "--role", "DataOwnerManager", "--attribute", "org1")
	c.okIn("", []string{"TEACLAVE_NEW_PASSWORD=secret2"}, "user", "register", "bob", "--role", "DataOwner-org1")
	c.failIn("x\n", nil, exitError, []string{"user id exist"}, "user", "register", "bob", "--role", "DataOwner-org1")
	c.fail(exitUsage, []string{"invalid --role"}, "user", "register", "carol", "--role", "Boss")
	c.fail(exitUsage, []string{"missing ID"}, "user", "register", "--role", "DataOwner")

	var list struct{ Users []string }
	c.jsonOut(&list, "user", "list")
	for _, id := range []string{"admin", "alice", "bob"} {
		if !slices.Contains(list.Users, id) {
			t.Fatalf("user list %v lacks %s", list.Users, id)
		}
	}

	// A DataOwnerManager lists the DataOwners of its attribute by default.
	c.login("alice", "secret1")
	if got := c.ok("user", "list"); got != "bob" {
		t.Fatalf("alice's user list = %q", got)
	}
	// It may not register a PlatformAdmin: its error names the user.
	c.failIn("pw\n", nil, exitError, []string{"permission denied"}, "user", "register", "mallory", "--role", "PlatformAdmin")

	// reset-password prints a new password that works.
	c.login("admin", "teaclave")
	pw := c.ok("user", "reset-password", "bob")
	if len(pw) != 32 {
		t.Fatalf("reset password %q", pw)
	}
	c.login("bob", pw)

	// change-password: bob sets his own; the old one stops working.
	c.okIn("newsecret\n", nil, "user", "change-password", "--as", "bob")
	c.failIn(pw+"\n", nil, exitError, []string{"authentication failed"}, "login", "--id", "bob")
	c.login("bob", "newsecret")

	// update changes the role.
	c.okIn("again\n", nil, "user", "update", "bob", "--role", "FunctionOwner", "--as", "admin")
	c.login("bob", "again")

	// delete, then bob cannot log in.
	c.ok("user", "delete", "bob", "--as", "admin")
	c.failIn("again\n", nil, exitError, []string{"authentication failed"}, "login", "--id", "bob")
	c.fail(exitError, []string{"not logged in as nobody"}, "user", "list", "--as", "nobody")
}

// TestLoginBoundToPlatform: a login saved against one platform is not
// sent to another (another attestation root), even when the CLI is
// pointed there; the credentials file must be a regular file of sane size.
func TestLoginBoundToPlatform(t *testing.T) {
	c := withPlatform(t)
	c.okIn("teaclave\n", nil, "login", "--id", "admin")
	c.ok("user", "list")

	other := deploytest.Start(t)
	elsewhere := []string{
		deploy.EnvAuthAddr + "=" + other.AuthAddr,
		deploy.EnvFrontendAddr + "=" + other.FrontendAddr,
		deploy.EnvDataDir + "=" + other.Config.Data.Dir,
	}
	c.failIn("", elsewhere, exitError, []string{"another platform", "teaclave login"}, "user", "list")
	// The same platform under another data folder path is the same root.
	c.ok("user", "list", "--data-dir", c.p.Config.Data.Dir+string(filepath.Separator))

	path := filepath.Join(c.env["XDG_CONFIG_HOME"], "teaclave", "credentials.json")
	big := bytes.Repeat([]byte(" "), 1<<20+1)
	if err := os.WriteFile(path, big, 0o600); err != nil {
		t.Fatal(err)
	}
	c.fail(exitError, []string{"larger than"}, "user", "list")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	c.fail(exitError, []string{"not a regular file"}, "user", "list")
}
