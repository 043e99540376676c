package auth

import (
	"context"
	"time"

	"google.golang.org/grpc"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/authpb"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/ext/authextpb"
)

// Client is an Authenticator and a Directory over a gRPC connection to the
// authentication service's internal endpoint.
type Client struct {
	internal authpb.TeaclaveAuthenticationInternalClient
	ext      authextpb.TeaclaveAuthenticationInternalExtClient
}

// NewClient returns a client of the internal endpoint at conn. The
// connection must be pinned to the authentication service's attested
// identity; NewClient does not check that.
func NewClient(conn grpc.ClientConnInterface) *Client {
	return &Client{
		internal: authpb.NewTeaclaveAuthenticationInternalClient(conn),
		ext:      authextpb.NewTeaclaveAuthenticationInternalExtClient(conn),
	}
}

// UserAuthenticate implements Authenticator. Status errors become
// *teaclave.Error values of the matching kind (rpc.FromStatus). A reply
// without claims, or with claims that do not name id or a valid role, is
// an authentication failure: the client never trusts less than the
// service checked.
func (c *Client) UserAuthenticate(ctx context.Context, id, token string) (Claims, error) {
	resp, err := c.internal.UserAuthenticate(ctx, &authpb.UserAuthenticateRequest{
		Credential: &commonpb.UserCredential{Id: id, Token: token},
	})
	if err != nil {
		return Claims{}, rpc.FromStatus(err)
	}
	pc := resp.GetClaims()
	role := teaclave.ParseRole(pc.GetRole())
	if pc == nil || pc.GetSub() != id || pc.GetIss() != Issuer || !role.Valid() || pc.GetExp() > 1<<62 {
		return Claims{}, errAuthFailed()
	}
	return Claims{
		Subject: pc.GetSub(),
		Role:    role,
		Issuer:  pc.GetIss(),
		Expiry:  time.Unix(int64(pc.GetExp()), 0),
	}, nil
}

// UsersExist implements Directory.
func (c *Client) UsersExist(ctx context.Context, ids []string) ([]bool, error) {
	if len(ids) > MaxUsersExist {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "too many ids: %d, at most %d per call", len(ids), MaxUsersExist)
	}
	resp, err := c.ext.UsersExist(ctx, &authextpb.UsersExistRequest{Ids: ids})
	if err != nil {
		return nil, rpc.FromStatus(err)
	}
	if len(resp.GetExists()) != len(ids) {
		return nil, teaclave.Errorf(teaclave.KindInternal, "UsersExist answered %d ids for %d", len(resp.GetExists()), len(ids))
	}
	return resp.GetExists(), nil
}
