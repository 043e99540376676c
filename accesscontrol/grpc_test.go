package accesscontrol_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/accesscontrol"
	"github.com/teaclave-go/teaclave/rpc"
	pb "github.com/teaclave-go/teaclave/rpc/pb/accesscontrolpb"
)

// serve runs the service on a plain gRPC server on 127.0.0.1:0 with the rpc
// interceptors and returns a connection to it. (The attested transport's
// tests cover TLS.)
func serve(t *testing.T) *grpc.ClientConn {
	t.Helper()
	s, err := accesscontrol.New(accesscontrol.Defaults(), accesscontrol.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(rpc.UnaryServerErrors))
	accesscontrol.Register(srv, s)
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

// TestOverGRPC runs the whole decision table through NewClient and a real
// server.
func TestOverGRPC(t *testing.T) {
	c := accesscontrol.NewClient(serve(t))
	ctx := context.Background()
	apis := append(append([]string{}, frontendAPIs...), unknownAPIs...)
	for _, role := range testRoles {
		for _, api := range apis {
			got, err := c.Authorize(ctx, role, api)
			if err != nil {
				t.Fatalf("Authorize(%q, %q): %v", role, api, err)
			}
			if want := expected(role, api); got != want {
				t.Errorf("Authorize(%q, %q) = %v over gRPC, want %v", role, api, got, want)
			}
		}
	}
}

func TestTeaclaveConcurrencyOverGRPC(t *testing.T) {
	runConcurrency(t, accesscontrol.NewClient(serve(t)))
}

func TestBadInputOverGRPC(t *testing.T) {
	conn := serve(t)
	c := accesscontrol.NewClient(conn)
	ok, err := c.Authorize(context.Background(), "PlatformAdmin", strings.Repeat("x", 10000))
	if ok || teaclave.KindOf(err) != teaclave.KindInvalidArgument {
		t.Fatalf("over-long api: %v, %v; want false, InvalidArgument", ok, err)
	}
	// The raw status code, without the client's conversion.
	raw := pb.NewTeaclaveAccessControlClient(conn)
	_, err = raw.AuthorizeApi(context.Background(), &pb.AuthorizeApiRequest{UserRole: strings.Repeat("x", 300), Api: "get_task"})
	if status.Code(err) != codes.InvalidArgument && teaclave.KindOf(err) != teaclave.KindInvalidArgument {
		t.Fatalf("raw over-long role: %v", err)
	}
	// Unknown methods are UNIMPLEMENTED, as Teaclave clients expect.
	err = conn.Invoke(context.Background(), "/teaclave_access_control_service_proto.TeaclaveAccessControl/Nope",
		&pb.AuthorizeApiRequest{}, &pb.AuthorizeApiResponse{})
	if teaclave.KindOf(err) != teaclave.KindUnimplemented {
		t.Fatalf("unknown method: %v, want Unimplemented", err)
	}
}

// TestClientWithoutInterceptor shows NewClient converts status errors
// itself, with no client interceptor on the connection.
func TestClientWithoutInterceptor(t *testing.T) {
	s, _ := accesscontrol.New(accesscontrol.Defaults(), accesscontrol.Deps{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer() // and no server interceptor either
	accesscontrol.Register(srv, s)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = accesscontrol.NewClient(conn).Authorize(context.Background(), strings.Repeat("r", 257), "x")
	var te *teaclave.Error
	if teaclave.KindOf(err) != teaclave.KindInvalidArgument || !errorsAs(err, &te) {
		t.Fatalf("got %v (%T), want *teaclave.Error InvalidArgument", err, err)
	}
}

func BenchmarkAuthorizeOverGRPC(b *testing.B) {
	s, _ := accesscontrol.New(accesscontrol.Defaults(), accesscontrol.Deps{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(rpc.UnaryServerErrors))
	accesscontrol.Register(srv, s)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	c := accesscontrol.NewClient(conn)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, err := c.Authorize(context.Background(), "DataOwner", "approve_task"); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
}
