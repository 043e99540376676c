package auth

import (
	"context"

	"google.golang.org/grpc"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/authpb"
)

// APIClient is a client of the authentication service's api endpoint
// (TeaclaveAuthenticationApi, protocol §5.5), the one users reach: it
// registers, updates, lists and deletes users, logs them in and changes
// passwords. Every method but UserLogin authenticates the caller with the
// credentials set by WithAPICredentials on the call's context (or with id
// and token metadata the context already carries). Errors are
// *teaclave.Error values of the kind the service answered (rpc.FromStatus);
// the service answers every refusal as Unauthenticated.
//
// conn should verify the service's attestation (rpc.DialAPI pinned to
// attestation.ServiceAuthentication); NewAPIClient does not check that.
type APIClient struct {
	c authpb.TeaclaveAuthenticationApiClient
}

// NewAPIClient returns a client of the api endpoint at conn.
func NewAPIClient(conn grpc.ClientConnInterface) *APIClient {
	return &APIClient{c: authpb.NewTeaclaveAuthenticationApiClient(conn)}
}

type apiCredentialsKey struct{}

// WithAPICredentials returns a context whose APIClient calls authenticate
// as the user with c's id and token (sent as Teaclave's id and token
// metadata).
func WithAPICredentials(ctx context.Context, c rpc.Credentials) context.Context {
	return context.WithValue(ctx, apiCredentialsKey{}, c)
}

// APICredentialsFrom returns the credentials set by WithAPICredentials.
func APICredentialsFrom(ctx context.Context) (rpc.Credentials, bool) {
	c, ok := ctx.Value(apiCredentialsKey{}).(rpc.Credentials)
	return c, ok
}

func apiCall[Req, Resp any](ctx context.Context, req Req, fn func(context.Context, Req, ...grpc.CallOption) (Resp, error)) (Resp, error) {
	if c, ok := APICredentialsFrom(ctx); ok {
		ctx = rpc.WithCredentials(ctx, c)
	}
	resp, err := fn(ctx, req)
	if err != nil {
		var zero Resp
		return zero, rpc.FromStatus(err)
	}
	return resp, nil
}

// UserRegister creates user id with password and the role given in the
// registration form: a role name (teaclave.RoleNamePlatformAdmin, ...)
// and an attribute, which only DataOwnerManager and DataOwner carry.
func (c *APIClient) UserRegister(ctx context.Context, id, password, role, attribute string) error {
	_, err := apiCall(ctx, &authpb.UserRegisterRequest{Id: id, Password: password, Role: role, Attribute: attribute}, c.c.UserRegister)
	return err
}

// UserUpdate replaces the password and role of the existing user id.
func (c *APIClient) UserUpdate(ctx context.Context, id, password, role, attribute string) error {
	_, err := apiCall(ctx, &authpb.UserUpdateRequest{Id: id, Password: password, Role: role, Attribute: attribute}, c.c.UserUpdate)
	return err
}

// UserLogin returns a token for user id, valid for 24 hours or until the
// service restarts. It needs no credentials.
func (c *APIClient) UserLogin(ctx context.Context, id, password string) (string, error) {
	resp, err := apiCall(ctx, &authpb.UserLoginRequest{Id: id, Password: password}, c.c.UserLogin)
	if err != nil {
		return "", err
	}
	if resp.GetToken() == "" {
		return "", teaclave.Errorf(teaclave.KindInternal, "UserLogin answered an empty token")
	}
	return resp.GetToken(), nil
}

// UserChangePassword sets the calling user's password.
func (c *APIClient) UserChangePassword(ctx context.Context, password string) error {
	_, err := apiCall(ctx, &authpb.UserChangePasswordRequest{Password: password}, c.c.UserChangePassword)
	return err
}

// ResetUserPassword gives user id a new random password and returns it.
func (c *APIClient) ResetUserPassword(ctx context.Context, id string) (string, error) {
	resp, err := apiCall(ctx, &authpb.ResetUserPasswordRequest{Id: id}, c.c.ResetUserPassword)
	if err != nil {
		return "", err
	}
	if resp.GetPassword() == "" {
		return "", teaclave.Errorf(teaclave.KindInternal, "ResetUserPassword answered an empty password")
	}
	return resp.GetPassword(), nil
}

// DeleteUser deletes user id.
func (c *APIClient) DeleteUser(ctx context.Context, id string) error {
	_, err := apiCall(ctx, &authpb.DeleteUserRequest{Id: id}, c.c.DeleteUser)
	return err
}

// ListUsers returns the ids of the users the caller manages: every user
// for a PlatformAdmin (id is then ignored but must not be empty), the
// DataOwner(id) users for a DataOwnerManager(id).
func (c *APIClient) ListUsers(ctx context.Context, id string) ([]string, error) {
	resp, err := apiCall(ctx, &authpb.ListUsersRequest{Id: id}, c.c.ListUsers)
	if err != nil {
		return nil, err
	}
	return resp.GetIds(), nil
}
