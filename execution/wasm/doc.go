// Package wasm is the WebAssembly executor (function type "wamr",
// executor "wamr"): it runs a payload's exported entrypoint on wazero with
// the host ABI Teaclave's WAMR executor gave payloads (functions.md §3.1),
// so payloads built for Teaclave run unchanged.
//
// # The ABI
//
// A payload may import only these five functions, from module env, every
// parameter and result an i32:
//
//	teaclave_open_input(name)            -> handle or -1
//	teaclave_create_output(name)         -> handle or -1
//	teaclave_read_file(handle, buf, len) -> bytes read (0 at the end) or -1
//	teaclave_write_file(handle, buf, len)-> bytes written or -1
//	teaclave_close_file(handle)          -> 0 or -1
//
// Names are NUL-terminated strings naming the task's declared inputs and
// outputs. Handles come from one sequence 1..1023 per execution; an
// output's has bit 0x40000000 set. Read and write make one call each, so
// a short count is normal. -1 means an unknown name or handle, a handle of
// the wrong kind, a closed handle or an I/O error; a pointer argument
// outside linear memory (or a name with no NUL before its end) is a trap,
// as WAMR checked pointers before the call. A module importing anything
// else (another function, a function of another type, a memory, a table or
// a global) does not load, and the reason names the import (WAMR loaded
// it and trapped when the import was called).
//
// The payload exports entrypoint(argc, argv i32) i32. argv is the offset
// of argc u32 offsets of NUL-terminated strings k1, v1, k2, v2, ... in
// byte-wise key order, string values raw and other JSON values as compact
// JSON text, with no NULL entry after them. They live in pages grown for
// them past the module's memory, or come from the module's own exported
// malloc(i32) i32 when it also exports free(i32), as WAMR did. No
// function is called by name at instantiation (WAMR never called _start);
// the module's start section runs. The result is the returned i32 as
// decimal text.
//
// # Errors
//
// A trap ends the call, and its text as WAMR spelt it ("Exception:
// unreachable", "Exception: out of bounds memory access", ...) is the
// task's successful result, as it was in Teaclave, with the trap also in
// the task's log (module teaclave_executor::wamr). A payload that does not
// compile, does not export entrypoint or imports outside the ABI, bad
// arguments, and arguments that cannot be placed fail the task with the
// reason (WAMR panicked the worker on the first three). The task's context
// stops a running module (wazero's close-on-context-done): a cancel or a
// time limit returns the context's error promptly, whatever the module
// is doing.
//
// # Limits and the module cache
//
// Each instance's memory is capped at Config.MemoryLimitPages, and
// payloads at Config.MaxModuleSize. Before wazero decodes a payload, its
// structure is checked so that no count in it exceeds the bytes that
// should hold it or the WebAssembly JavaScript API's implementation limits
// (50,000 locals a function, 1,000 parameters, ...): wazero allocates what
// a binary announces, and a 16-byte module could otherwise make it
// allocate gigabytes. The features are WAMR's: the MVP with sign extension,
// saturating conversions and multiple results; bulk memory, reference
// types and SIMD do not load.
//
// Compiled modules are kept by payload SHA-256 in a bounded
// least-recently-used cache, so a repeated function pays only
// instantiation; every task gets a fresh instance (nothing persists
// between tasks, as in Teaclave).
//
// # Compiler or interpreter
//
// EngineCompiler, the default, compiles each module to machine code once
// (then cached) and runs it faster than the interpreter. It needs memory
// it can map executable, which an SGX enclave's heap is not (SGX1 fixes
// page permissions when the enclave is built, and EGo maps its heap
// read-write), so enclave builds set EngineInterpreter: slower, but it
// never generates or maps code. The compiler also widens the
// attack surface: a bug in its code generation becomes native code
// running in the node's address space, while the interpreter is (mostly
// memory-safe) Go. Stopping a module also costs the compiler more: with
// close-on-context-done, compiled code leaves to Go at every loop
// iteration to check for it, which makes tight loops several times slower
// (still faster than the interpreter in our benchmark: docs/benchmarks.md).
// Either way the executor runs in the node's process: it is not a memory
// sandbox for the node itself (see docs/security.md).
//
// Register it in an fx graph with Module (or ModuleWith), or build one
// with New and Close it when done.
package wasm
