package teaclave

import (
	"context"
	"errors"
	"fmt"
)

// Kind classifies an error so that every transport reports it the same way.
// Each kind corresponds to one gRPC status code (see package rpc).
type Kind uint8

// Error kinds. KindUnknown is the zero value and is reported as an internal
// error: an unclassified failure never masquerades as a client mistake.
const (
	KindUnknown Kind = iota
	KindInvalidArgument
	KindNotFound
	KindAlreadyExists
	KindPermissionDenied
	KindUnauthenticated
	KindFailedPrecondition
	KindResourceExhausted
	KindUnavailable
	KindInternal
	KindCanceled
	KindDeadlineExceeded
	KindUnimplemented
	KindAborted
)

var kindNames = [...]string{
	KindUnknown:            "unknown",
	KindInvalidArgument:    "invalid argument",
	KindNotFound:           "not found",
	KindAlreadyExists:      "already exists",
	KindPermissionDenied:   "permission denied",
	KindUnauthenticated:    "unauthenticated",
	KindFailedPrecondition: "failed precondition",
	KindResourceExhausted:  "resource exhausted",
	KindUnavailable:        "unavailable",
	KindInternal:           "internal",
	KindCanceled:           "canceled",
	KindDeadlineExceeded:   "deadline exceeded",
	KindUnimplemented:      "unimplemented",
	KindAborted:            "aborted",
}

// String returns the kind's lowercase name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Error is the error type services return across boundaries. Msg is what a
// remote caller sees: it must never contain a secret (password, key, token or
// file content). Err, if set, is the underlying cause; it stays in process
// (errors.Is and errors.As reach it) and is neither sent over the wire nor
// rendered by Error, so a cause can never leak a secret through a message.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
}

// Error implements error. It renders Msg, or the kind's name when Msg is
// empty.
func (e *Error) Error() string {
	if e.Msg == "" {
		return e.Kind.String()
	}
	return e.Msg
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel of e's kind, so that
// errors.Is(err, ErrNotFound) matches any not-found *Error. A target with a
// message matches only an error with the same kind and message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	if t.Kind != e.Kind {
		return false
	}
	return t.Msg == "" || t.Msg == e.Msg
}

// Sentinels for errors.Is. They carry no message; compare, never return them
// as-is when a more specific message helps the caller.
var (
	ErrInvalidArgument    = &Error{Kind: KindInvalidArgument}
	ErrNotFound           = &Error{Kind: KindNotFound}
	ErrAlreadyExists      = &Error{Kind: KindAlreadyExists}
	ErrPermissionDenied   = &Error{Kind: KindPermissionDenied}
	ErrUnauthenticated    = &Error{Kind: KindUnauthenticated}
	ErrFailedPrecondition = &Error{Kind: KindFailedPrecondition}
	ErrResourceExhausted  = &Error{Kind: KindResourceExhausted}
	ErrUnavailable        = &Error{Kind: KindUnavailable}
	ErrInternal           = &Error{Kind: KindInternal}
	ErrCanceled           = &Error{Kind: KindCanceled}
	ErrDeadlineExceeded   = &Error{Kind: KindDeadlineExceeded}
	ErrUnimplemented      = &Error{Kind: KindUnimplemented}
	ErrAborted            = &Error{Kind: KindAborted}
)

// Errorf returns an *Error of the given kind whose message is formatted from
// format and args. A %w verb sets the cause, as with fmt.Errorf; its text is
// part of the message, so wrap only errors whose text is safe to show.
func Errorf(kind Kind, format string, args ...any) *Error {
	formatted := fmt.Errorf(format, args...)
	return &Error{Kind: kind, Msg: formatted.Error(), Err: errors.Unwrap(formatted)}
}

// Wrap returns an *Error of the given kind with a caller-safe message and a
// cause that stays in process.
func Wrap(kind Kind, msg string, cause error) *Error {
	return &Error{Kind: kind, Msg: msg, Err: cause}
}

// KindOf returns the kind of the first *Error in err's chain. Context
// cancellation and deadline errors map to KindCanceled and
// KindDeadlineExceeded; anything else is KindUnknown. KindOf(nil) is
// KindUnknown.
func KindOf(err error) Kind {
	if err == nil {
		return KindUnknown
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	switch {
	case errors.Is(err, context.Canceled):
		return KindCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return KindDeadlineExceeded
	}
	return KindUnknown
}
