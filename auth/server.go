package auth

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/authpb"
	"github.com/teaclave-go/teaclave/rpc/pb/ext/authextpb"
)

// The gRPC servers of the service's two endpoints. Every method converts
// its errors with rpc.ToStatus itself, so a server registered without the
// rpc interceptors still sends the right codes and never an unvetted
// message.

// RegisterAPI registers the client-facing endpoint's services with reg:
// Teaclave's TeaclaveAuthenticationApi and the TeaclaveAuthenticationApiExt
// extension (Bootstrap).
func RegisterAPI(reg grpc.ServiceRegistrar, s *Service) {
	authpb.RegisterTeaclaveAuthenticationApiServer(reg, NewAPIServer(s))
	authextpb.RegisterTeaclaveAuthenticationApiExtServer(reg, &apiExtServer{s: s})
}

// RegisterInternal registers the internal endpoint's services with reg:
// Teaclave's TeaclaveAuthenticationInternal (UserAuthenticate, for the
// frontend) and the TeaclaveAuthenticationInternalExt extension
// (UsersExist, for management). Its inbound list must name the frontend and
// management.
func RegisterInternal(reg grpc.ServiceRegistrar, s *Service) {
	authpb.RegisterTeaclaveAuthenticationInternalServer(reg, NewInternalServer(s))
	authextpb.RegisterTeaclaveAuthenticationInternalExtServer(reg, &internalExtServer{s: s})
}

// APIServer serves TeaclaveAuthenticationApi. Every method but UserLogin
// authenticates the caller from metadata id and token first.
type APIServer struct {
	authpb.UnimplementedTeaclaveAuthenticationApiServer
	s *Service
}

// NewAPIServer returns the TeaclaveAuthenticationApi server of s.
func NewAPIServer(s *Service) *APIServer { return &APIServer{s: s} }

var _ authpb.TeaclaveAuthenticationApiServer = (*APIServer)(nil)

// authenticated verifies the caller's metadata and returns a context that
// carries the caller. Whatever caller ctx carried before is replaced.
func (a *APIServer) authenticated(ctx context.Context) (context.Context, error) {
	cred, err := rpc.CredentialsFromIncoming(ctx)
	if err != nil {
		return nil, err
	}
	claims, err := a.s.UserAuthenticate(ctx, cred.ID, cred.Token)
	if err != nil {
		return nil, err
	}
	return teaclave.WithCaller(ctx, claims.Caller()), nil
}

// UserRegister implements TeaclaveAuthenticationApi.
func (a *APIServer) UserRegister(ctx context.Context, req *authpb.UserRegisterRequest) (*emptypb.Empty, error) {
	ctx, err := a.authenticated(ctx)
	if err != nil {
		return nil, rpc.ToStatus(err)
	}
	role, err := RoleFromRequest(req.GetRole(), req.GetAttribute())
	if err != nil {
		return nil, rpc.ToStatus(err)
	}
	if err := a.s.UserRegister(ctx, req.GetId(), req.GetPassword(), role); err != nil {
		return nil, rpc.ToStatus(err)
	}
	return &emptypb.Empty{}, nil
}

// UserUpdate implements TeaclaveAuthenticationApi.
func (a *APIServer) UserUpdate(ctx context.Context, req *authpb.UserUpdateRequest) (*emptypb.Empty, error) {
	ctx, err := a.authenticated(ctx)
	if err != nil {
		return nil, rpc.ToStatus(err)
	}
	role, err := RoleFromRequest(req.GetRole(), req.GetAttribute())
	if err != nil {
		return nil, rpc.ToStatus(err)
	}
	if err := a.s.UserUpdate(ctx, req.GetId(), req.GetPassword(), role); err != nil {
		return nil, rpc.ToStatus(err)
	}
	return &emptypb.Empty{}, nil
}

// UserLogin implements TeaclaveAuthenticationApi. It needs no metadata.
func (a *APIServer) UserLogin(ctx context.Context, req *authpb.UserLoginRequest) (*authpb.UserLoginResponse, error) {
	tok, err := a.s.UserLogin(ctx, req.GetId(), req.GetPassword())
	if err != nil {
		return nil, rpc.ToStatus(err)
	}
	return &authpb.UserLoginResponse{Token: tok}, nil
}

// UserChangePassword implements TeaclaveAuthenticationApi.
func (a *APIServer) UserChangePassword(ctx context.Context, req *authpb.UserChangePasswordRequest) (*emptypb.Empty, error) {
	ctx, err := a.authenticated(ctx)
	if err != nil {
		return nil, rpc.ToStatus(err)
	}
	if err := a.s.UserChangePassword(ctx, req.GetPassword()); err != nil {
		return nil, rpc.ToStatus(err)
	}
	return &emptypb.Empty{}, nil
}

// ResetUserPassword implements TeaclaveAuthenticationApi.
func (a *APIServer) ResetUserPassword(ctx context.Context, req *authpb.ResetUserPasswordRequest) (*authpb.ResetUserPasswordResponse, error) {
	ctx, err := a.authenticated(ctx)
	if err != nil {
		return nil, rpc.ToStatus(err)
	}
	pw, err := a.s.ResetUserPassword(ctx, req.GetId())
	if err != nil {
		return nil, rpc.ToStatus(err)
	}
	return &authpb.ResetUserPasswordResponse{Password: pw}, nil
}

// DeleteUser implements TeaclaveAuthenticationApi.
func (a *APIServer) DeleteUser(ctx context.Context, req *authpb.DeleteUserRequest) (*emptypb.Empty, error) {
	ctx, err := a.authenticated(ctx)
	if err != nil {
		return nil, rpc.ToStatus(err)
	}
	if err := a.s.DeleteUser(ctx, req.GetId()); err != nil {
		return nil, rpc.ToStatus(err)
	}
	return &emptypb.Empty{}, nil
}

// ListUsers implements TeaclaveAuthenticationApi.
func (a *APIServer) ListUsers(ctx context.Context, req *authpb.ListUsersRequest) (*authpb.ListUsersResponse, error) {
	ctx, err := a.authenticated(ctx)
	if err != nil {
		return nil, rpc.ToStatus(err)
	}
	ids, err := a.s.ListUsers(ctx, req.GetId())
	if err != nil {
		return nil, rpc.ToStatus(err)
	}
	return &authpb.ListUsersResponse{Ids: ids}, nil
}

// InternalServer serves TeaclaveAuthenticationInternal.
type InternalServer struct {
	authpb.UnimplementedTeaclaveAuthenticationInternalServer
	s *Service
}

// NewInternalServer returns the TeaclaveAuthenticationInternal server of s.
func NewInternalServer(s *Service) *InternalServer { return &InternalServer{s: s} }

var _ authpb.TeaclaveAuthenticationInternalServer = (*InternalServer)(nil)

// UserAuthenticate implements TeaclaveAuthenticationInternal: the
// credential in the request (not metadata) is checked, and the claims are
// returned as Teaclave's UserAuthClaims.
func (i *InternalServer) UserAuthenticate(ctx context.Context, req *authpb.UserAuthenticateRequest) (*authpb.UserAuthenticateResponse, error) {
	cred := req.GetCredential()
	if cred == nil {
		return nil, rpc.ToStatus(errAuthFailed())
	}
	c, err := i.s.UserAuthenticate(ctx, cred.GetId(), cred.GetToken())
	if err != nil {
		return nil, rpc.ToStatus(err)
	}
	return &authpb.UserAuthenticateResponse{Claims: &authpb.UserAuthClaims{
		Sub:  c.Subject,
		Role: c.Role.String(),
		Iss:  c.Issuer,
		Exp:  uint64(c.Expiry.Unix()),
	}}, nil
}

type internalExtServer struct {
	authextpb.UnimplementedTeaclaveAuthenticationInternalExtServer
	s *Service
}

func (i *internalExtServer) UsersExist(ctx context.Context, req *authextpb.UsersExistRequest) (*authextpb.UsersExistResponse, error) {
	exists, err := i.s.UsersExist(ctx, req.GetIds())
	if err != nil {
		return nil, rpc.ToStatus(err)
	}
	return &authextpb.UsersExistResponse{Exists: exists}, nil
}

type apiExtServer struct {
	authextpb.UnimplementedTeaclaveAuthenticationApiExtServer
	s *Service
}

func (a *apiExtServer) Bootstrap(ctx context.Context, req *authextpb.BootstrapRequest) (*emptypb.Empty, error) {
	if err := a.s.Bootstrap(ctx, req.GetId(), req.GetPassword()); err != nil {
		return nil, rpc.ToStatus(err)
	}
	return &emptypb.Empty{}, nil
}
