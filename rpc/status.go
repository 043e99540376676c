package rpc

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/teaclave-go/teaclave"
)

// internalMessage is what a remote caller sees for an error that carries no
// caller-safe message: the cause may hold anything, so none of it is sent.
const internalMessage = "internal error"

var kindToCode = map[teaclave.Kind]codes.Code{
	teaclave.KindUnknown:            codes.Internal,
	teaclave.KindInvalidArgument:    codes.InvalidArgument,
	teaclave.KindNotFound:           codes.NotFound,
	teaclave.KindAlreadyExists:      codes.AlreadyExists,
	teaclave.KindPermissionDenied:   codes.PermissionDenied,
	teaclave.KindUnauthenticated:    codes.Unauthenticated,
	teaclave.KindFailedPrecondition: codes.FailedPrecondition,
	teaclave.KindResourceExhausted:  codes.ResourceExhausted,
	teaclave.KindUnavailable:        codes.Unavailable,
	teaclave.KindInternal:           codes.Internal,
	teaclave.KindCanceled:           codes.Canceled,
	teaclave.KindDeadlineExceeded:   codes.DeadlineExceeded,
	teaclave.KindUnimplemented:      codes.Unimplemented,
	teaclave.KindAborted:            codes.Aborted,
}

var codeToKind = map[codes.Code]teaclave.Kind{
	codes.InvalidArgument:    teaclave.KindInvalidArgument,
	codes.OutOfRange:         teaclave.KindInvalidArgument,
	codes.NotFound:           teaclave.KindNotFound,
	codes.AlreadyExists:      teaclave.KindAlreadyExists,
	codes.PermissionDenied:   teaclave.KindPermissionDenied,
	codes.Unauthenticated:    teaclave.KindUnauthenticated,
	codes.FailedPrecondition: teaclave.KindFailedPrecondition,
	codes.ResourceExhausted:  teaclave.KindResourceExhausted,
	codes.Unavailable:        teaclave.KindUnavailable,
	codes.Internal:           teaclave.KindInternal,
	codes.DataLoss:           teaclave.KindInternal,
	codes.Unknown:            teaclave.KindInternal,
	codes.Canceled:           teaclave.KindCanceled,
	codes.DeadlineExceeded:   teaclave.KindDeadlineExceeded,
	codes.Unimplemented:      teaclave.KindUnimplemented,
	codes.Aborted:            teaclave.KindAborted,
}

// KindCode returns the gRPC status code for an error kind.
func KindCode(k teaclave.Kind) codes.Code {
	if c, ok := kindToCode[k]; ok {
		return c
	}
	return codes.Internal
}

// CodeKind returns the error kind for a gRPC status code.
func CodeKind(c codes.Code) teaclave.Kind {
	if k, ok := codeToKind[c]; ok {
		return k
	}
	return teaclave.KindInternal
}

// ToStatus converts a service error into a gRPC status error. A
// *teaclave.Error keeps its message; context errors become Canceled or
// DeadlineExceeded; an existing status error passes through; any other
// error becomes Internal with a generic message, because its text was never
// vetted for secrets. ToStatus(nil) is nil.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	var te *teaclave.Error
	if errors.As(err, &te) {
		if te.Kind == teaclave.KindUnknown {
			return status.Error(codes.Internal, internalMessage)
		}
		return status.Error(KindCode(te.Kind), te.Error())
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	return status.Error(codes.Internal, internalMessage)
}

// FromStatus converts an error returned by a gRPC call into a
// *teaclave.Error with the matching kind and the status message. Errors
// that are not status errors are returned unchanged; FromStatus(nil) is nil.
func FromStatus(err error) error {
	if err == nil {
		return nil
	}
	s, ok := status.FromError(err)
	if !ok {
		return err
	}
	return &teaclave.Error{Kind: CodeKind(s.Code()), Msg: s.Message()}
}

// UnaryServerErrors is a server interceptor that converts handler errors with
// ToStatus.
func UnaryServerErrors(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	return resp, ToStatus(err)
}

// StreamServerErrors is the streaming counterpart of UnaryServerErrors.
func StreamServerErrors(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return ToStatus(handler(srv, ss))
}

// UnaryClientErrors is a client interceptor that converts status errors
// with FromStatus, so a NewClient implementation returns the same errors
// as the in-process service.
func UnaryClientErrors(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return FromStatus(invoker(ctx, method, req, reply, cc, opts...))
}

// handshakeFailed is the text grpc-go puts in the Unavailable status of a
// call whose connection failed its TLS handshake, attestation included
// (transport: authentication handshake failed).
const handshakeFailed = "authentication handshake failed"

// IsHandshakeFailure reports whether err, a call's error, says the
// connection was refused in its handshake: the peer's certificate or
// attestation did not verify. Such a failure is Unavailable like a
// platform that is down, but retrying cannot mend it.
func IsHandshakeFailure(err error) bool {
	if err == nil {
		return false
	}
	var te *teaclave.Error
	if errors.As(err, &te) {
		return te.Kind == teaclave.KindUnavailable && strings.Contains(te.Msg, handshakeFailed)
	}
	if s, ok := status.FromError(err); ok {
		return s.Code() == codes.Unavailable && strings.Contains(s.Message(), handshakeFailed)
	}
	return false
}
