package rpc

import (
	"context"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/teaclave-go/teaclave"
)

// Metadata keys of Teaclave's wire protocol (protocol §2.1).
const (
	// MetadataID carries the user id, from clients and from the frontend.
	MetadataID = "id"
	// MetadataToken carries the JWT from UserLogin, from clients.
	MetadataToken = "token"
	// MetadataRole carries the caller's role in claims form. Only the
	// frontend sets it; servers read it only from attested internal peers.
	MetadataRole = "role"
)

// Bounds on metadata values. A token is a few hundred bytes; the bounds
// only keep a hostile client from making a server hold megabytes.
const (
	maxIDLen    = 1024
	maxTokenLen = 16 << 10
	maxRoleLen  = 1024
)

// Credentials are the id and token a client sends.
type Credentials struct {
	ID    string
	Token string
}

// WithCredentials returns a context whose outgoing calls carry the user's
// id and token, as Teaclave clients send them.
func WithCredentials(ctx context.Context, c Credentials) context.Context {
	return metadata.AppendToOutgoingContext(ctx, MetadataID, c.ID, MetadataToken, c.Token)
}

// CredentialsFromIncoming reads the id and token a client sent. A missing,
// repeated or oversized value is an Unauthenticated error, the only code
// Teaclave clients expect for authentication failures.
func CredentialsFromIncoming(ctx context.Context) (Credentials, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	id, err := single(md, MetadataID, maxIDLen)
	if err != nil {
		return Credentials{}, err
	}
	token, err := single(md, MetadataToken, maxTokenLen)
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{ID: id, Token: token}, nil
}

// WithOutgoingCaller returns a context whose outgoing calls carry c as
// id and role metadata, replacing any id, token or role already there: the
// frontend forwards the caller it verified, never what the client sent.
func WithOutgoingCaller(ctx context.Context, c teaclave.Caller) context.Context {
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	md.Delete(MetadataToken)
	md.Set(MetadataID, c.ID)
	md.Set(MetadataRole, c.Role.String())
	return metadata.NewOutgoingContext(ctx, md)
}

// CallerFromIncoming reads the caller an attested internal peer forwarded
// as id and role metadata. It must only be used on endpoints whose peers
// are authenticated by attestation and topology; a missing, repeated or
// oversized value, an empty id or an invalid role is Unauthenticated.
func CallerFromIncoming(ctx context.Context) (teaclave.Caller, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	id, err := single(md, MetadataID, maxIDLen)
	if err != nil {
		return teaclave.Caller{}, err
	}
	roleText, err := single(md, MetadataRole, maxRoleLen)
	if err != nil {
		return teaclave.Caller{}, err
	}
	role := teaclave.ParseRole(roleText)
	if !role.Valid() {
		return teaclave.Caller{}, teaclave.Errorf(teaclave.KindUnauthenticated, "invalid role in request metadata")
	}
	return teaclave.Caller{ID: id, Role: role}, nil
}

func single(md metadata.MD, key string, maxLen int) (string, error) {
	vals := md.Get(key)
	switch {
	case len(vals) == 0:
		return "", teaclave.Errorf(teaclave.KindUnauthenticated, "missing %q in request metadata", key)
	case len(vals) > 1:
		return "", teaclave.Errorf(teaclave.KindUnauthenticated, "repeated %q in request metadata", key)
	case vals[0] == "":
		return "", teaclave.Errorf(teaclave.KindUnauthenticated, "empty %q in request metadata", key)
	case len(vals[0]) > maxLen:
		return "", teaclave.Errorf(teaclave.KindUnauthenticated, "%q in request metadata is too long", key)
	}
	return vals[0], nil
}

// UnaryClientCaller is a client interceptor that forwards the
// teaclave.Caller in the call's context as metadata. Calls without a caller
// go out unchanged.
func UnaryClientCaller(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if c, ok := teaclave.CallerFrom(ctx); ok {
		ctx = WithOutgoingCaller(ctx, c)
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// UnaryServerCaller is a server interceptor for internal endpoints that
// carry a forwarded caller (management): it puts the caller from metadata
// into the handler's context, or refuses the call as Unauthenticated.
func UnaryServerCaller(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	c, err := CallerFromIncoming(ctx)
	if err != nil {
		return nil, ToStatus(err)
	}
	return handler(teaclave.WithCaller(ctx, c), req)
}

// String returns the id only: a token printed by mistake stays secret.
func (c Credentials) String() string { return "Credentials{ID: " + c.ID + ", Token: [hidden]}" }

// GoString is String, so %#v hides the token too.
func (c Credentials) GoString() string { return c.String() }

// LogValue hides the token from log/slog.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", c.ID), slog.String("token", "[hidden]"))
}
