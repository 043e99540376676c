// Package teaclave holds the vocabulary that crosses service boundaries in
// Teaclave for Go: object ids in Teaclave's "<prefix>-<uuid>" form, user
// roles, the authenticated Caller carried in a context.Context, error kinds
// that map onto gRPC status codes, the task state machine, and the storage
// seam (Store) every service persists through.
//
// The package imports no other package of this module, so every service
// package, the rpc layer and user code can share it without cycles.
//
// # Errors
//
// Service code returns *Error values with a Kind. Callers branch with
// errors.Is against the kind sentinels:
//
//	if errors.Is(err, teaclave.ErrNotFound) { ... }
//
// The rpc package turns kinds into gRPC status codes and back, so the same
// code behaves identically whether a service is called in process or over
// the wire.
//
// # Task state machine
//
// Task lifecycles follow Teaclave's state machine (Created, DataAssigned,
// Approved, Staged, Running, then Finished, Canceled or Failed) with one
// deliberate difference: a function that fails ends Failed, not Finished.
// [Transition] is the single place that decides which moves are legal.
package teaclave
