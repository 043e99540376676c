//go:build !teaclave_production

package auth

import (
	"context"
	"errors"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc/pb/authpb"
	"github.com/teaclave-go/teaclave/rpc/pb/ext/authextpb"
)

// rawConn serves register on 127.0.0.1 without any interceptor and dials
// it without any, so that only the client's own conversion applies.
func rawConn(t *testing.T, register func(*grpc.Server)) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	register(srv)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// TestClientConvertsErrors: without interceptors, NewClient still returns
// *teaclave.Error values of the right kind.
func TestClientConvertsErrors(t *testing.T) {
	e := newEnv(t)
	c := NewClient(rawConn(t, func(g *grpc.Server) { RegisterInternal(g, e.s) }))
	_, err := c.UserAuthenticate(context.Background(), "admin", "wrong_token")
	var te *teaclave.Error
	if !errors.As(err, &te) {
		t.Fatalf("got %T %v, want *teaclave.Error", err, err)
	}
	wantAuthFailed(t, err, "over gRPC")
	tok := e.login("admin", "teaclave")
	if _, err := c.UserAuthenticate(context.Background(), "admin", tok); err != nil {
		t.Fatal(err)
	}
	_, err = c.UsersExist(context.Background(), make([]string, MaxUsersExist+1))
	wantKind(t, err, teaclave.KindInvalidArgument, "too many ids")
}

// lyingServer answers UserAuthenticate with fixed claims.
type lyingServer struct {
	authpb.UnimplementedTeaclaveAuthenticationInternalServer
	authextpb.UnimplementedTeaclaveAuthenticationInternalExtServer
	claims *authpb.UserAuthClaims
	exists []bool
}

func (l *lyingServer) UserAuthenticate(context.Context, *authpb.UserAuthenticateRequest) (*authpb.UserAuthenticateResponse, error) {
	return &authpb.UserAuthenticateResponse{Claims: l.claims}, nil
}

func (l *lyingServer) UsersExist(context.Context, *authextpb.UsersExistRequest) (*authextpb.UsersExistResponse, error) {
	return &authextpb.UsersExistResponse{Exists: l.exists}, nil
}

// TestClientChecksReplies: a reply that does not describe the presented
// id with a valid role is not trusted.
func TestClientChecksReplies(t *testing.T) {
	good := &authpb.UserAuthClaims{Sub: "alice", Role: "DataOwner-org1", Iss: "Teaclave", Exp: 2000000000}
	cases := map[string]*authpb.UserAuthClaims{
		"no claims":     nil,
		"other subject": {Sub: "bob", Role: "DataOwner-org1", Iss: "Teaclave", Exp: 2000000000},
		"invalid role":  {Sub: "alice", Role: "Invalid", Iss: "Teaclave", Exp: 2000000000},
		"other issuer":  {Sub: "alice", Role: "DataOwner-org1", Iss: "x", Exp: 2000000000},
		"absurd exp":    {Sub: "alice", Role: "DataOwner-org1", Iss: "Teaclave", Exp: 1 << 63},
	}
	for name, claims := range cases {
		l := &lyingServer{claims: claims}
		c := NewClient(rawConn(t, func(g *grpc.Server) {
			authpb.RegisterTeaclaveAuthenticationInternalServer(g, l)
		}))
		_, err := c.UserAuthenticate(context.Background(), "alice", "tok")
		wantAuthFailed(t, err, name)
	}
	l := &lyingServer{claims: good, exists: []bool{true}}
	c := NewClient(rawConn(t, func(g *grpc.Server) {
		authpb.RegisterTeaclaveAuthenticationInternalServer(g, l)
		authextpb.RegisterTeaclaveAuthenticationInternalExtServer(g, l)
	}))
	got, err := c.UserAuthenticate(context.Background(), "alice", "tok")
	if err != nil || got.Role != role("DataOwner", "org1") || got.Expiry.Unix() != 2000000000 {
		t.Fatalf("good claims: %+v, %v", got, err)
	}
	// A UsersExist answer of the wrong length is an error, not a guess.
	_, err = c.UsersExist(context.Background(), []string{"a", "b"})
	wantKind(t, err, teaclave.KindInternal, "short UsersExist answer")
}
