package accesscontrol

import (
	"context"

	"google.golang.org/grpc"

	"github.com/teaclave-go/teaclave/rpc"
	pb "github.com/teaclave-go/teaclave/rpc/pb/accesscontrolpb"
)

// Client is an Authorizer over a gRPC connection to the access control
// service.
type Client struct {
	c pb.TeaclaveAccessControlClient
}

// NewClient returns an Authorizer that asks the service at conn. The
// connection must be pinned to the access control service's attested
// identity; NewClient does not check that.
func NewClient(conn grpc.ClientConnInterface) *Client {
	return &Client{c: pb.NewTeaclaveAccessControlClient(conn)}
}

// Authorize implements Authorizer. Status errors become *teaclave.Error
// values of the matching kind, as rpc.UnaryClientErrors would make them.
func (c *Client) Authorize(ctx context.Context, role, api string) (bool, error) {
	resp, err := c.c.AuthorizeApi(ctx, &pb.AuthorizeApiRequest{UserRole: role, Api: api})
	if err != nil {
		return false, rpc.FromStatus(err)
	}
	return resp.GetAccept(), nil
}
