package fileagent

import (
	"errors"
	"fmt"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrAddressRefused: the address policy refused a connection.
	ErrAddressRefused = errors.New("fileagent: address not allowed")
	// ErrTooLarge: a file exceeds a size limit.
	ErrTooLarge = errors.New("fileagent: file too large")
	// ErrScratchFull: the task's sealed scratch files reached their
	// limit. It wraps ErrTooLarge.
	ErrScratchFull = fmt.Errorf("%w: scratch space full", ErrTooLarge)
	// ErrBadURL: a URL the agent does not accept (scheme, form, a path
	// outside the configured roots).
	ErrBadURL = errors.New("fileagent: URL not accepted")
	// ErrScratchTampered: a sealed scratch chunk failed authentication.
	ErrScratchTampered = errors.New("fileagent: scratch file was modified")
	// ErrScratchClosed: a buffer used after its scratch space was closed.
	ErrScratchClosed = errors.New("fileagent: scratch closed")
)

// Error is a failed transfer. Its message is what a task's participants
// see ("download failed: HTTP status 404 Not Found"): the operation and a
// short reason, never connection detail or file content. The cause stays
// in process for errors.Is and logs.
type Error struct {
	// Op is "download" or "upload".
	Op string
	// Reason is the caller-safe reason.
	Reason string
	// Err is the cause.
	Err error
}

func (e *Error) Error() string { return e.Op + " failed: " + e.Reason }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
