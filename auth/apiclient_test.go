//go:build !teaclave_production

package auth

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/rpctest"
)

// dialAPIClient serves e's service over the attested transport and returns
// an APIClient connected as a non-enclave client (an SDK) would: with
// rpc.DialAPI, pinning the authentication service.
func dialAPIClient(t *testing.T, e *env) *APIClient {
	t.Helper()
	renv := rpctest.NewEnv(t)
	apiAddr, _ := serveAttested(t, renv, e.s)
	cc, err := rpc.DialAPI(apiAddr, attestation.ServiceAuthentication, renv.Verifier, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return NewAPIClient(cc)
}

func asUser(t *testing.T, c *APIClient, id, password string) context.Context {
	t.Helper()
	tok, err := c.UserLogin(context.Background(), id, password)
	if err != nil {
		t.Fatalf("login %s: %v", id, err)
	}
	return WithAPICredentials(context.Background(), rpc.Credentials{ID: id, Token: tok})
}

func wantTeaclaveError(t *testing.T, err error, kinds []teaclave.Kind, what string) {
	t.Helper()
	var te *teaclave.Error
	if !errors.As(err, &te) {
		t.Fatalf("%s: error %v (%T), want a *teaclave.Error", what, err, err)
	}
	if !slices.Contains(kinds, te.Kind) {
		t.Fatalf("%s: kind %v (%v), want one of %v", what, te.Kind, err, kinds)
	}
}

// TestAPIClientEveryRPC drives every api RPC through the typed client over
// an attested connection.
func TestAPIClientEveryRPC(t *testing.T) {
	e := newEnv(t)
	c := dialAPIClient(t, e)
	admin := asUser(t, c, developmentAdmin, developmentPassword)

	if err := c.UserRegister(admin, "manager", "manager-pw", teaclave.RoleNameDataOwnerManager, "org"); err != nil {
		t.Fatalf("register manager: %v", err)
	}
	mgr := asUser(t, c, "manager", "manager-pw")
	if err := c.UserRegister(mgr, "owner", "owner-pw", teaclave.RoleNameDataOwner, "org"); err != nil {
		t.Fatalf("manager registers owner: %v", err)
	}
	ids, err := c.ListUsers(mgr, "org")
	if err != nil || !slices.Equal(ids, []string{"owner"}) {
		t.Fatalf("manager lists %v %v, want [owner]", ids, err)
	}
	all, err := c.ListUsers(admin, "x")
	if err != nil || !slices.Contains(all, "manager") || !slices.Contains(all, "owner") || !slices.Contains(all, developmentAdmin) {
		t.Fatalf("admin lists %v %v", all, err)
	}
	if err := c.UserUpdate(mgr, "owner", "owner-pw2", teaclave.RoleNameDataOwner, "org"); err != nil {
		t.Fatalf("update owner: %v", err)
	}
	if _, err := c.UserLogin(context.Background(), "owner", "owner-pw"); err == nil {
		t.Fatal("old password still logs in after UserUpdate")
	}
	owner := asUser(t, c, "owner", "owner-pw2")
	if err := c.UserChangePassword(owner, "owner-pw3"); err != nil {
		t.Fatalf("change password: %v", err)
	}
	asUser(t, c, "owner", "owner-pw3")
	reset, err := c.ResetUserPassword(mgr, "owner")
	if err != nil || len(reset) != 32 {
		t.Fatalf("reset = %q %v, want 32 hex digits", reset, err)
	}
	asUser(t, c, "owner", reset)
	if err := c.DeleteUser(mgr, "owner"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = c.UserLogin(context.Background(), "owner", reset)
	wantTeaclaveError(t, err, []teaclave.Kind{teaclave.KindUnauthenticated}, "login of a deleted user")
}

// TestAPIClientRefusals: the service's refusals arrive as *teaclave.Error
// values of its kind, and calls without credentials are Unauthenticated.
func TestAPIClientRefusals(t *testing.T) {
	e := newEnv(t)
	c := dialAPIClient(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	_, err := c.UserLogin(ctx, developmentAdmin, "wrong")
	wantTeaclaveError(t, err, []teaclave.Kind{teaclave.KindUnauthenticated}, "wrong password")
	if !errors.Is(err, teaclave.ErrUnauthenticated) {
		t.Errorf("wrong password: %v does not match ErrUnauthenticated", err)
	}
	err = c.UserRegister(ctx, "x", "pw", teaclave.RoleNamePlatformAdmin, "")
	wantTeaclaveError(t, err, []teaclave.Kind{teaclave.KindUnauthenticated}, "register without credentials")
	_, err = c.ListUsers(WithAPICredentials(ctx, rpc.Credentials{ID: developmentAdmin, Token: "not-a-token"}), "x")
	wantTeaclaveError(t, err, []teaclave.Kind{teaclave.KindUnauthenticated}, "bad token")

	e.register("fo", "fo-pw", teaclave.NewRole(teaclave.RoleNameFunctionOwner, ""))
	fo := asUser(t, c, "fo", "fo-pw")
	err = c.UserRegister(fo, "boss", "pw", teaclave.RoleNamePlatformAdmin, "")
	wantTeaclaveError(t, err, []teaclave.Kind{teaclave.KindPermissionDenied}, "function owner registers an admin")
	_, err = c.ResetUserPassword(fo, developmentAdmin)
	wantTeaclaveError(t, err, []teaclave.Kind{teaclave.KindPermissionDenied}, "function owner resets the admin")
	admin := asUser(t, c, developmentAdmin, developmentPassword)
	err = c.UserRegister(admin, "fo", "pw", teaclave.RoleNameFunctionOwner, "")
	wantTeaclaveError(t, err, []teaclave.Kind{teaclave.KindAlreadyExists}, "register an existing id")
	err = c.UserRegister(admin, "y", "pw", "Emperor", "")
	wantTeaclaveError(t, err, []teaclave.Kind{teaclave.KindInvalidArgument}, "register an invalid role")
	err = c.UserChangePassword(fo, "")
	wantTeaclaveError(t, err, []teaclave.Kind{teaclave.KindInvalidArgument}, "empty new password")
	if creds, ok := APICredentialsFrom(fo); !ok || creds.ID != "fo" {
		t.Errorf("APICredentialsFrom = %+v %v", creds, ok)
	}
	if _, ok := APICredentialsFrom(ctx); ok {
		t.Error("APICredentialsFrom found credentials in a bare context")
	}
}
