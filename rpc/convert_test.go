package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/accesscontrolpb"
)

var allKinds = []teaclave.Kind{
	teaclave.KindInvalidArgument, teaclave.KindNotFound, teaclave.KindAlreadyExists,
	teaclave.KindPermissionDenied, teaclave.KindUnauthenticated, teaclave.KindFailedPrecondition,
	teaclave.KindResourceExhausted, teaclave.KindUnavailable, teaclave.KindInternal,
	teaclave.KindCanceled, teaclave.KindDeadlineExceeded, teaclave.KindUnimplemented,
	teaclave.KindAborted,
}

func TestStatusRoundTrip(t *testing.T) {
	want := map[teaclave.Kind]codes.Code{
		teaclave.KindInvalidArgument:    codes.InvalidArgument,
		teaclave.KindNotFound:           codes.NotFound,
		teaclave.KindAlreadyExists:      codes.AlreadyExists,
		teaclave.KindPermissionDenied:   codes.PermissionDenied,
		teaclave.KindUnauthenticated:    codes.Unauthenticated, // Teaclave clients rely on 16
		teaclave.KindFailedPrecondition: codes.FailedPrecondition,
		teaclave.KindResourceExhausted:  codes.ResourceExhausted,
		teaclave.KindUnavailable:        codes.Unavailable,
		teaclave.KindInternal:           codes.Internal,
		teaclave.KindCanceled:           codes.Canceled,
		teaclave.KindDeadlineExceeded:   codes.DeadlineExceeded,
		teaclave.KindUnimplemented:      codes.Unimplemented, // and on 12
		teaclave.KindAborted:            codes.Aborted,
	}
	for _, k := range allKinds {
		t.Run(k.String(), func(t *testing.T) {
			in := teaclave.Errorf(k, "task %s is %s", "task-x", "busy")
			st := rpc.ToStatus(in)
			s, ok := status.FromError(st)
			if !ok {
				t.Fatalf("ToStatus returned a non-status error %v", st)
			}
			if s.Code() != want[k] {
				t.Errorf("code = %v, want %v", s.Code(), want[k])
			}
			if s.Message() != "task task-x is busy" {
				t.Errorf("message = %q", s.Message())
			}
			back := rpc.FromStatus(st)
			if teaclave.KindOf(back) != k {
				t.Errorf("kind after round trip = %v, want %v", teaclave.KindOf(back), k)
			}
			if back.Error() != in.Error() {
				t.Errorf("message after round trip = %q, want %q", back.Error(), in.Error())
			}
		})
	}
}

func TestToStatusHidesUnvettedErrors(t *testing.T) {
	secret := errors.New("open /data/key password=hunter2")
	for _, err := range []error{
		secret,
		fmt.Errorf("wrapped: %w", secret),
		&teaclave.Error{Msg: "unknown kind leaks hunter2", Err: secret},
	} {
		s, _ := status.FromError(rpc.ToStatus(err))
		if s.Code() != codes.Internal {
			t.Errorf("%v: code %v, want Internal", err, s.Code())
		}
		if strings.Contains(s.Message(), "hunter2") {
			t.Errorf("secret leaked into status message %q", s.Message())
		}
	}
	// The cause of a classified error stays in process.
	s, _ := status.FromError(rpc.ToStatus(teaclave.Wrap(teaclave.KindNotFound, "no such task", secret)))
	if s.Message() != "no such task" {
		t.Errorf("message = %q, want only the safe message", s.Message())
	}
	if got := rpc.ToStatus(nil); got != nil {
		t.Errorf("ToStatus(nil) = %v", got)
	}
	if s, _ := status.FromError(rpc.ToStatus(context.Canceled)); s.Code() != codes.Canceled {
		t.Errorf("context.Canceled -> %v", s.Code())
	}
	if s, _ := status.FromError(rpc.ToStatus(fmt.Errorf("x: %w", context.DeadlineExceeded))); s.Code() != codes.DeadlineExceeded {
		t.Errorf("deadline -> %v", s.Code())
	}
}

func TestFromStatusMapsEveryCode(t *testing.T) {
	for c := codes.OK + 1; c <= codes.Unauthenticated; c++ {
		err := rpc.FromStatus(status.Error(c, "m"))
		var te *teaclave.Error
		if !errors.As(err, &te) {
			t.Fatalf("%v: not a *teaclave.Error", c)
		}
		if te.Kind == teaclave.KindUnknown {
			t.Errorf("%v maps to KindUnknown", c)
		}
		if got := rpc.KindCode(te.Kind); c != codes.Unknown && c != codes.OutOfRange && c != codes.DataLoss && got != c {
			t.Errorf("%v -> %v -> %v", c, te.Kind, got)
		}
	}
	plain := errors.New("not a status")
	if rpc.FromStatus(plain) != plain {
		t.Error("FromStatus changed a non-status error")
	}
}

func TestCallerMetadataRoundTrip(t *testing.T) {
	callers := []teaclave.Caller{
		{ID: "admin", Role: teaclave.Role{Kind: teaclave.RolePlatformAdmin}},
		{ID: "fo", Role: teaclave.Role{Kind: teaclave.RoleFunctionOwner}},
		{ID: "dom", Role: teaclave.Role{Kind: teaclave.RoleDataOwnerManager, Attribute: "org-1"}},
		{ID: "do", Role: teaclave.Role{Kind: teaclave.RoleDataOwner, Attribute: ""}},
	}
	for _, c := range callers {
		// A client-sent role and token must not survive forwarding.
		ctx := metadata.AppendToOutgoingContext(context.Background(), "role", "PlatformAdmin", "token", "t", "id", "mallory")
		out := rpc.WithOutgoingCaller(ctx, c)
		md, _ := metadata.FromOutgoingContext(out)
		if got := md.Get("token"); len(got) != 0 {
			t.Errorf("token forwarded: %v", got)
		}
		in := metadata.NewIncomingContext(context.Background(), md)
		got, err := rpc.CallerFromIncoming(in)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if got != c {
			t.Errorf("round trip = %+v, want %+v", got, c)
		}
	}
}

func TestCallerFromIncomingRefusesBadMetadata(t *testing.T) {
	cases := map[string]metadata.MD{
		"no metadata":  nil,
		"no id":        metadata.Pairs("role", "PlatformAdmin"),
		"empty id":     metadata.Pairs("id", "", "role", "PlatformAdmin"),
		"two ids":      metadata.Pairs("id", "a", "id", "b", "role", "PlatformAdmin"),
		"no role":      metadata.Pairs("id", "a"),
		"invalid role": metadata.Pairs("id", "a", "role", "Root"),
		"Invalid role": metadata.Pairs("id", "a", "role", "Invalid"),
		"long id":      metadata.Pairs("id", strings.Repeat("a", 5000), "role", "PlatformAdmin"),
	}
	for name, md := range cases {
		ctx := context.Background()
		if md != nil {
			ctx = metadata.NewIncomingContext(ctx, md)
		}
		_, err := rpc.CallerFromIncoming(ctx)
		if !errors.Is(err, teaclave.ErrUnauthenticated) {
			t.Errorf("%s: err = %v, want Unauthenticated", name, err)
		}
	}
}

func TestCredentialsRoundTrip(t *testing.T) {
	out := rpc.WithCredentials(context.Background(), rpc.Credentials{ID: "alice", Token: "jwt"})
	md, _ := metadata.FromOutgoingContext(out)
	got, err := rpc.CredentialsFromIncoming(metadata.NewIncomingContext(context.Background(), md))
	if err != nil || got != (rpc.Credentials{ID: "alice", Token: "jwt"}) {
		t.Fatalf("got %+v, %v", got, err)
	}
	_, err = rpc.CredentialsFromIncoming(metadata.NewIncomingContext(context.Background(), metadata.Pairs("id", "alice")))
	if !errors.Is(err, teaclave.ErrUnauthenticated) {
		t.Errorf("missing token: %v", err)
	}
}

// acServer answers AuthorizeApi by echoing the forwarded caller, or with the
// error kind named by the api field.
type acServer struct {
	accesscontrolpb.UnimplementedTeaclaveAccessControlServer
}

func (acServer) AuthorizeApi(ctx context.Context, req *accesscontrolpb.AuthorizeApiRequest) (*accesscontrolpb.AuthorizeApiResponse, error) {
	if name, ok := strings.CutPrefix(req.Api, "fail:"); ok {
		for _, k := range allKinds {
			if k.String() == name {
				return nil, teaclave.Errorf(k, "refused: %s", name)
			}
		}
		return nil, errors.New("unclassified failure with secret s3cr3t")
	}
	c, ok := teaclave.CallerFrom(ctx)
	if !ok {
		return nil, teaclave.Errorf(teaclave.KindInternal, "no caller")
	}
	return &accesscontrolpb.AuthorizeApiResponse{Accept: c.ID+"/"+c.Role.String() == req.UserRole}, nil
}

// TestInterceptorsOverTheWire runs the conversions through a real gRPC
// server on 127.0.0.1: the caller crosses as metadata, and error kinds come
// back as the same kinds.
func TestInterceptorsOverTheWire(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(rpc.UnaryServerErrors, rpc.UnaryServerCaller))
	accesscontrolpb.RegisterTeaclaveAccessControlServer(srv, acServer{})
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)

	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(rpc.UnaryClientErrors, rpc.UnaryClientCaller))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	client := accesscontrolpb.NewTeaclaveAccessControlClient(conn)

	caller := teaclave.Caller{ID: "bob", Role: teaclave.Role{Kind: teaclave.RoleDataOwner, Attribute: "org"}}
	ctx := teaclave.WithCaller(context.Background(), caller)
	resp, err := client.AuthorizeApi(ctx, &accesscontrolpb.AuthorizeApiRequest{UserRole: "bob/DataOwner-org", Api: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Accept {
		t.Error("server did not see the forwarded caller")
	}

	// Without a caller the server refuses with Unauthenticated.
	_, err = client.AuthorizeApi(context.Background(), &accesscontrolpb.AuthorizeApiRequest{Api: "x"})
	if !errors.Is(err, teaclave.ErrUnauthenticated) {
		t.Errorf("no caller: %v, want Unauthenticated", err)
	}

	for _, k := range allKinds {
		_, err := client.AuthorizeApi(ctx, &accesscontrolpb.AuthorizeApiRequest{Api: "fail:" + k.String()})
		if teaclave.KindOf(err) != k {
			t.Errorf("%v: got kind %v (%v)", k, teaclave.KindOf(err), err)
		}
		if k != teaclave.KindCanceled && k != teaclave.KindDeadlineExceeded && err.Error() != "refused: "+k.String() {
			t.Errorf("%v: message %q", k, err.Error())
		}
	}
	_, err = client.AuthorizeApi(ctx, &accesscontrolpb.AuthorizeApiRequest{Api: "fail:other"})
	if !errors.Is(err, teaclave.ErrInternal) || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("unclassified error: %v", err)
	}
}

func TestIsHandshakeFailure(t *testing.T) {
	const msg = `connection error: desc = "transport: authentication handshake failed: attestation: report signed by an unknown root"`
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"status", status.Error(codes.Unavailable, msg), true},
		{"converted", rpc.FromStatus(status.Error(codes.Unavailable, msg)), true},
		{"wrapped", fmt.Errorf("call: %w", rpc.FromStatus(status.Error(codes.Unavailable, msg))), true},
		{"down", status.Error(codes.Unavailable, `connection error: desc = "transport: Error while dialing: connection refused"`), false},
		{"other code", status.Error(codes.Internal, msg), false},
		{"plain", errors.New(msg), false},
		{"nil", nil, false},
	} {
		if got := rpc.IsHandshakeFailure(c.err); got != c.want {
			t.Errorf("%s: IsHandshakeFailure = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCredentialsHideToken(t *testing.T) {
	c := rpc.Credentials{ID: "alice", Token: "secret-token"}
	var logs strings.Builder
	slog.New(slog.NewTextHandler(&logs, nil)).Info("call", "creds", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), logs.String()} {
		if strings.Contains(s, "secret-token") || !strings.Contains(s, "alice") {
			t.Errorf("printed credentials %q: want the id and not the token", s)
		}
	}
}
