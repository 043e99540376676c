// Package starlark is the Python-style executor (function type "python",
// executor "mesapy"): it runs payloads written in Starlark, a Python
// dialect, on go.starlark.net, with the contract Teaclave's MesaPy
// executor gave Python payloads (functions.md §3.2) as far as the dialect
// allows.
//
// # The payload contract
//
// The payload's top level runs, then entrypoint(argv) is called with argv
// the task's arguments as a list of strings k1, v1, k2, v2, ... in
// byte-wise key order (string values raw, others as compact JSON text);
// the global entrypoint_argv holds the same list. The string (or bytes)
// entrypoint returns is the task's result; None is an empty result.
//
// Files go through teaclave_open(name, mode) (also teaclave.open): "rb"
// opens the declared input name, a writable binary mode ("wb", "ab",
// "r+b") creates the declared output name. Text modes fail with "Teaclave
// Not Supported", and an unknown name with "fileio_init:
// teaclave_ffi_error", as in MesaPy (the log says why). A file object has
// read([size]), readline(), readlines(), write(data), flush(), close(),
// readable() and writable(), and iterates over its lines; data is str
// (Starlark strings hold any bytes). At most 1023 files open per task;
// what the payload leaves open is closed after it, completing its outputs.
// Starlark has no exceptions, so teaclave_has_input(name) (also
// teaclave.has_input) tells whether an optional input is there.
// Predeclared besides Starlark's built-ins: math and json (go.starlark.net's
// modules; json has encode and decode). print writes to the task's log
// (module teaclave_function::python).
//
// # Results and errors
//
// As in MesaPy, a payload that fails (a syntax or runtime error, fail(),
// no entrypoint, a result that is not a string) gives the successful
// result MESAPY_EXEC_ERROR, and a result over 20480 bytes
// MESAPY_ERROR_BUFFER_TOO_SHORT; the reason, with a Starlark backtrace,
// is in the task's log (module teaclave_executor::mesapy). Bad arguments,
// the step limit and the heap budget fail the task with the reason. The
// task's context cancels the Starlark thread, and a canceled or timed-out
// task returns the context's error at once (the thread stops at its next
// instruction, after the built-in call it may be in).
//
// # Sandbox
//
// A payload reaches nothing but its task's declared files: no host file
// system, network, clock, randomness, environment or process; load fails.
// Config.MaxSteps bounds its computation (Thread.SetMaxExecutionSteps).
// The heap watchdog samples the process's heap (runtime/metrics) every
// Config.HeapCheckInterval and stops the task when the heap has grown more
// than Config.HeapBudget beyond the live heap at its start, after a
// collection confirms it. The measure is per process and approximate: Go
// cannot attribute memory to a goroutine, so other tasks' allocations
// count against this task's budget, and a payload can overshoot by what
// it allocates between two samples (a single built-in call, such as
// concatenating two large strings, completes before the check).
//
// Starlark completes each built-in operation before it looks at a
// cancellation, so one operation that builds far more than its operands
// could exhaust memory, or one that iterates a lazy range could never
// end, whatever the limits above. So the payload is rewritten before it is
// compiled: x * y, x % y and their augmented forms, x += y, and the
// methods replace, join, split, rsplit, splitlines, format, encode,
// extend, update, union and the other set operations go through checks,
// as do the built-ins list, tuple, sorted, set, reversed, enumerate, zip,
// dict, any, all, min, max, bytes, str, repr, print, fail, int and getattr
// (predeclared in place of Starlark's). An operation whose result would
// pass Config.MaxOperationBytes (lists count 16 bytes an element; text
// counts every reference to a shared value again) fails the payload, as
// does an integer product over 2^20 bits or int() of over 100,000 digits.
// An augmented x *= y or x %= y whose target contains a call is not
// supported (the rewrite evaluates the target twice). What remains
// unchecked is text Starlark builds itself for an error message (a key
// not found in a dict is shown in full).
//
// The executor runs in the node's process: it is not a memory sandbox for
// the node (see docs/security.md).
//
// Register it in an fx graph with Module (or ModuleWith), or build one
// with New.
package starlark
