//go:build !teaclave_production

package auth

import (
	"testing"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc"
)

// Teaclave's functional tests of the authentication service
// (tests/functional/enclave/src/authentication_service.rs, protocol §19.1),
// with their setup (utils.rs: log in as admin/teaclave and register
// frontend_user, frontend_user1..3 as PlatformAdmin), in process and over
// gRPC, every check on.

func functionalSetup(t *testing.T, e *env, o ops) rpc.Credentials {
	t.Helper()
	tok, err := o.login("admin", "teaclave")
	if err != nil {
		t.Fatalf("admin login: %v", err)
	}
	admin := rpc.Credentials{ID: "admin", Token: tok}
	for _, u := range []string{"frontend_user", "frontend_user1", "frontend_user2", "frontend_user3"} {
		if err := o.register(admin, u, "test_password", "PlatformAdmin", ""); err != nil {
			t.Fatalf("register %s: %v", u, err)
		}
	}
	return admin
}

func TestFunctionalLoginSuccess(t *testing.T) {
	transports(t, func(t *testing.T, e *env, o ops) {
		admin := functionalSetup(t, e, o)
		if err := o.register(admin, "test_login_id1", "test_password", "PlatformAdmin", ""); err != nil {
			t.Fatal(err)
		}
		tok, err := o.login("test_login_id1", "test_password")
		if err != nil || tok == "" {
			t.Fatalf("login: %q, %v", tok, err)
		}
	})
}

func TestFunctionalLoginFail(t *testing.T) {
	transports(t, func(t *testing.T, e *env, o ops) {
		admin := functionalSetup(t, e, o)
		if err := o.register(admin, "test_login_id2", "test_password", "PlatformAdmin", ""); err != nil {
			t.Fatal(err)
		}
		_, err := o.login("test_login_id2", "wrong_password")
		wantAuthFailed(t, err, "wrong password")
	})
}

func TestFunctionalAuthenticateSuccess(t *testing.T) {
	transports(t, func(t *testing.T, e *env, o ops) {
		functionalSetup(t, e, o)
		tok, err := o.login("frontend_user", "test_password")
		if err != nil {
			t.Fatal(err)
		}
		c, err := o.authenticate("frontend_user", tok)
		if err != nil {
			t.Fatalf("UserAuthenticate: %v", err)
		}
		if c.Subject != "frontend_user" || c.Role.Kind != teaclave.RolePlatformAdmin || c.Issuer != "Teaclave" {
			t.Fatalf("claims %+v", c)
		}
	})
}

func TestFunctionalAuthenticateFail(t *testing.T) {
	transports(t, func(t *testing.T, e *env, o ops) {
		functionalSetup(t, e, o)
		_, err := o.authenticate("frontend_user", "wrong_token")
		wantAuthFailed(t, err, "wrong_token")
	})
}

func TestFunctionalRegisterSuccess(t *testing.T) {
	transports(t, func(t *testing.T, e *env, o ops) {
		admin := functionalSetup(t, e, o)
		if err := o.register(admin, "test_register_id1", "test_password", "PlatformAdmin", ""); err != nil {
			t.Fatal(err)
		}
		wantUser(t, o, "test_register_id1", "test_password", role("PlatformAdmin", ""))
	})
}

func TestFunctionalRegisterFail(t *testing.T) {
	transports(t, func(t *testing.T, e *env, o ops) {
		admin := functionalSetup(t, e, o)
		if err := o.register(admin, "test_register_id2", "test_password", "PlatformAdmin", ""); err != nil {
			t.Fatal(err)
		}
		var err error
		unchanged(t, e.store, func() { err = o.register(admin, "test_register_id2", "test_password", "PlatformAdmin", "") })
		checkOutcome(t, err, teaclave.KindAlreadyExists)
	})
}
