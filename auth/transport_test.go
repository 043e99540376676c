package auth

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/authpb"
	"github.com/teaclave-go/teaclave/rpc/pb/ext/authextpb"
)

// ops is what a client does, either in process or over gRPC, so that the
// same tables run both ways.
type ops interface {
	login(id, password string) (string, error)
	register(cred rpc.Credentials, id, password, roleName, attr string) error
	update(cred rpc.Credentials, id, password, roleName, attr string) error
	changePassword(cred rpc.Credentials, password string) error
	reset(cred rpc.Credentials, id string) (string, error)
	remove(cred rpc.Credentials, id string) error
	list(cred rpc.Credentials, id string) ([]string, error)
	authenticate(id, token string) (Claims, error)
	usersExist(ids []string) ([]bool, error)
	bootstrap(id, password string) error
}

// inProcess calls the Service's methods, authenticating the caller's
// credentials first as the api endpoint does.
type inProcess struct{ s *Service }

func (p inProcess) caller(cred rpc.Credentials) (context.Context, error) {
	c, err := p.s.UserAuthenticate(context.Background(), cred.ID, cred.Token)
	if err != nil {
		return nil, err
	}
	return teaclave.WithCaller(context.Background(), c.Caller()), nil
}

func (p inProcess) login(id, pw string) (string, error) {
	return p.s.UserLogin(context.Background(), id, pw)
}

func (p inProcess) register(cred rpc.Credentials, id, pw, name, attr string) error {
	ctx, err := p.caller(cred)
	if err != nil {
		return err
	}
	r, err := RoleFromRequest(name, attr)
	if err != nil {
		return err
	}
	return p.s.UserRegister(ctx, id, pw, r)
}

func (p inProcess) update(cred rpc.Credentials, id, pw, name, attr string) error {
	ctx, err := p.caller(cred)
	if err != nil {
		return err
	}
	r, err := RoleFromRequest(name, attr)
	if err != nil {
		return err
	}
	return p.s.UserUpdate(ctx, id, pw, r)
}

func (p inProcess) changePassword(cred rpc.Credentials, pw string) error {
	ctx, err := p.caller(cred)
	if err != nil {
		return err
	}
	return p.s.UserChangePassword(ctx, pw)
}

func (p inProcess) reset(cred rpc.Credentials, id string) (string, error) {
	ctx, err := p.caller(cred)
	if err != nil {
		return "", err
	}
	return p.s.ResetUserPassword(ctx, id)
}

func (p inProcess) remove(cred rpc.Credentials, id string) error {
	ctx, err := p.caller(cred)
	if err != nil {
		return err
	}
	return p.s.DeleteUser(ctx, id)
}

func (p inProcess) list(cred rpc.Credentials, id string) ([]string, error) {
	ctx, err := p.caller(cred)
	if err != nil {
		return nil, err
	}
	return p.s.ListUsers(ctx, id)
}

func (p inProcess) authenticate(id, tok string) (Claims, error) {
	return p.s.UserAuthenticate(context.Background(), id, tok)
}

func (p inProcess) usersExist(ids []string) ([]bool, error) {
	return p.s.UsersExist(context.Background(), ids)
}

func (p inProcess) bootstrap(id, pw string) error {
	return p.s.Bootstrap(context.Background(), id, pw)
}

// overGRPC calls the two endpoints over plain gRPC on 127.0.0.1 with the
// rpc interceptors. (The attested transport's tests cover TLS.)
type overGRPC struct {
	api      authpb.TeaclaveAuthenticationApiClient
	apiExt   authextpb.TeaclaveAuthenticationApiExtClient
	client   *Client
	apiConn  *grpc.ClientConn
	intlConn *grpc.ClientConn
}

func listen(t testing.TB, register func(*grpc.Server)) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(rpc.UnaryServerErrors))
	register(srv)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(rpc.UnaryClientErrors))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func serveGRPC(t testing.TB, s *Service) *overGRPC {
	t.Helper()
	apiConn := listen(t, func(g *grpc.Server) { RegisterAPI(g, s) })
	intlConn := listen(t, func(g *grpc.Server) { RegisterInternal(g, s) })
	return &overGRPC{
		api:      authpb.NewTeaclaveAuthenticationApiClient(apiConn),
		apiExt:   authextpb.NewTeaclaveAuthenticationApiExtClient(apiConn),
		client:   NewClient(intlConn),
		apiConn:  apiConn,
		intlConn: intlConn,
	}
}

func credCtx(cred rpc.Credentials) context.Context {
	return rpc.WithCredentials(context.Background(), cred)
}

func (g *overGRPC) login(id, pw string) (string, error) {
	r, err := g.api.UserLogin(context.Background(), &authpb.UserLoginRequest{Id: id, Password: pw})
	return r.GetToken(), err
}

func (g *overGRPC) register(cred rpc.Credentials, id, pw, name, attr string) error {
	_, err := g.api.UserRegister(credCtx(cred), &authpb.UserRegisterRequest{Id: id, Password: pw, Role: name, Attribute: attr})
	return err
}

func (g *overGRPC) update(cred rpc.Credentials, id, pw, name, attr string) error {
	_, err := g.api.UserUpdate(credCtx(cred), &authpb.UserUpdateRequest{Id: id, Password: pw, Role: name, Attribute: attr})
	return err
}

func (g *overGRPC) changePassword(cred rpc.Credentials, pw string) error {
	_, err := g.api.UserChangePassword(credCtx(cred), &authpb.UserChangePasswordRequest{Password: pw})
	return err
}

func (g *overGRPC) reset(cred rpc.Credentials, id string) (string, error) {
	r, err := g.api.ResetUserPassword(credCtx(cred), &authpb.ResetUserPasswordRequest{Id: id})
	return r.GetPassword(), err
}

func (g *overGRPC) remove(cred rpc.Credentials, id string) error {
	_, err := g.api.DeleteUser(credCtx(cred), &authpb.DeleteUserRequest{Id: id})
	return err
}

func (g *overGRPC) list(cred rpc.Credentials, id string) ([]string, error) {
	r, err := g.api.ListUsers(credCtx(cred), &authpb.ListUsersRequest{Id: id})
	return r.GetIds(), err
}

func (g *overGRPC) authenticate(id, tok string) (Claims, error) {
	return g.client.UserAuthenticate(context.Background(), id, tok)
}

func (g *overGRPC) usersExist(ids []string) ([]bool, error) {
	return g.client.UsersExist(context.Background(), ids)
}

func (g *overGRPC) bootstrap(id, pw string) error {
	_, err := g.apiExt.Bootstrap(context.Background(), &authextpb.BootstrapRequest{Id: id, Password: pw})
	return err
}

// transports runs f once in process and once over gRPC, each on a fresh
// environment.
func transports(t *testing.T, f func(t *testing.T, e *env, o ops)) {
	t.Run("in process", func(t *testing.T) {
		e := newEnv(t)
		f(t, e, inProcess{e.s})
	})
	t.Run("gRPC", func(t *testing.T) {
		e := newEnv(t)
		f(t, e, serveGRPC(t, e.s))
	})
}
