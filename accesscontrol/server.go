package accesscontrol

import (
	"context"

	"google.golang.org/grpc"

	"github.com/teaclave-go/teaclave/rpc"
	pb "github.com/teaclave-go/teaclave/rpc/pb/accesscontrolpb"
)

// Server serves TeaclaveAccessControl over gRPC from an Authorizer.
type Server struct {
	pb.UnimplementedTeaclaveAccessControlServer
	authz Authorizer
}

var _ pb.TeaclaveAccessControlServer = (*Server)(nil)

// NewServer returns a gRPC server of a.
func NewServer(a Authorizer) *Server { return &Server{authz: a} }

// Register registers a's gRPC server with reg.
func Register(reg grpc.ServiceRegistrar, a Authorizer) {
	pb.RegisterTeaclaveAccessControlServer(reg, NewServer(a))
}

// AuthorizeApi implements TeaclaveAccessControl.AuthorizeApi. A denial is
// accept=false; an error (a name over MaxNameLen) is its precise status
// code. Errors are converted here as well as by rpc.UnaryServerErrors, so a
// server registered without that interceptor still sends proper codes.
func (s *Server) AuthorizeApi(ctx context.Context, req *pb.AuthorizeApiRequest) (*pb.AuthorizeApiResponse, error) {
	ok, err := s.authz.Authorize(ctx, req.GetUserRole(), req.GetApi())
	if err != nil {
		return nil, rpc.ToStatus(err)
	}
	return &pb.AuthorizeApiResponse{Accept: ok}, nil
}
