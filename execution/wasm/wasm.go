package wasm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/execution/executor"
)

// LogModule is the module name of the executor's own lines in a task's
// log (the trap that ended a function, a host call that failed).
const LogModule = "teaclave_executor::wamr"

// entrypoint is the export every payload must have.
const entrypoint = "entrypoint"

// features is what WAMR's classic interpreter ran in Teaclave: the MVP
// with mutable globals, plus the post-MVP instructions it always had
// (sign extension, saturating conversions, multiple results); bulk memory,
// reference types and SIMD were off, so a module using them does not load.
const features = api.CoreFeaturesV1 |
	api.CoreFeatureSignExtensionOps |
	api.CoreFeatureNonTrappingFloatToIntConversion |
	api.CoreFeatureMultiValue

// errClosed is the error of a task run by a closed Executor.
var errClosed = errors.New("the WebAssembly executor is closed")

// Executor runs WebAssembly functions (executor "wamr") with Teaclave's
// host ABI on wazero. It is safe for concurrent use; Close releases it.
type Executor struct {
	cfg   Config
	rt    wazero.Runtime
	cache *moduleCache

	closeOnce sync.Once
}

var _ executor.Executor = (*Executor)(nil)

// module is a compiled, validated payload.
type module struct {
	compiled wazero.CompiledModule
	entry    api.FunctionDefinition
	// malloc is true when the module defines and exports malloc(i32) i32
	// and free(i32): the arguments are then allocated with it, as WAMR
	// did, instead of in fresh pages.
	malloc bool

	closeOnce sync.Once
}

func (m *module) close() {
	m.closeOnce.Do(func() { m.compiled.Close(context.Background()) })
}

// New returns an Executor configured by cfg (after Defaults).
func New(ctx context.Context, cfg Config) (*Executor, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var rc wazero.RuntimeConfig
	if cfg.Engine == EngineInterpreter {
		rc = wazero.NewRuntimeConfigInterpreter()
	} else {
		rc = wazero.NewRuntimeConfigCompiler()
	}
	rc = rc.WithCoreFeatures(features).
		WithMemoryLimitPages(cfg.MemoryLimitPages).
		WithCloseOnContextDone(true).
		WithDebugInfoEnabled(false)
	r, err := newWazero(ctx, rc)
	if err != nil {
		return nil, fmt.Errorf("wasm: the %s engine cannot run here: %w", cfg.Engine, err)
	}
	e := &Executor{cfg: cfg, rt: r}
	if err := instantiateABI(ctx, e.rt); err != nil {
		e.rt.Close(ctx)
		return nil, fmt.Errorf("wasm: host module: %w", err)
	}
	// Compile a function now, so that an engine that cannot work here (the
	// compiler where memory cannot be made executable, as in an SGX
	// enclave) fails at start, not every task.
	c, err := e.rt.CompileModule(ctx, []byte(probeModule))
	if err != nil {
		e.rt.Close(ctx)
		return nil, fmt.Errorf("wasm: the %s engine cannot run here: %w", cfg.Engine, err)
	}
	c.Close(ctx)
	e.cache = newModuleCache(cfg.CacheEntries, cfg.CacheBytes, e.compile)
	return e, nil
}

// probeModule exports entrypoint(argc, argv i32) i32 returning 7.
const probeModule = ("\x00asm\x01\x00\x00\x00" +
	"\x01\x07\x01\x60\x02\x7f\x7f\x01\x7f" + // type (i32, i32) -> i32
	"\x03\x02\x01\x00" + // function 0 of type 0
	"\x07\x0e\x01\x0aentrypoint\x00\x00" + // export entrypoint
	"\x0a\x06\x01\x04\x00\x41\x07\x0b") // code: i32.const 7

// newWazero is wazero.NewRuntimeWithConfig, which panics when the engine
// is not supported on this platform.
func newWazero(ctx context.Context, rc wazero.RuntimeConfig) (r wazero.Runtime, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	return wazero.NewRuntimeWithConfig(ctx, rc), nil
}

// Close releases the compiled modules and the runtime. Tasks running at
// the time are stopped.
func (e *Executor) Close(ctx context.Context) error {
	var err error
	e.closeOnce.Do(func() {
		e.cache.close()
		err = e.rt.Close(ctx)
	})
	return err
}

// Name implements executor.Executor: tasks that ask for "wamr".
func (e *Executor) Name() teaclave.Executor { return teaclave.ExecutorWAMR }

// compile compiles and validates a payload.
func (e *Executor) compile(payload []byte) (*module, error) {
	if len(payload) > e.cfg.MaxModuleSize {
		return nil, fmt.Errorf("invalid WebAssembly payload: %d bytes, more than the limit of %d", len(payload), e.cfg.MaxModuleSize)
	}
	if err := precheck(payload); err != nil {
		return nil, fmt.Errorf("invalid WebAssembly payload: %w", err)
	}
	c, err := e.rt.CompileModule(context.Background(), payload)
	if err != nil {
		return nil, fmt.Errorf("invalid WebAssembly payload: %w", err)
	}
	m, err := validate(c)
	if err != nil {
		c.Close(context.Background())
		return nil, fmt.Errorf("invalid WebAssembly payload: %w", err)
	}
	return m, nil
}

// validate checks a compiled module against Teaclave's ABI: it imports
// nothing but the five host functions with their exact types, and exports
// a function entrypoint.
func validate(c wazero.CompiledModule) (*module, error) {
	for _, d := range c.ImportedFunctions() {
		mod, name, _ := d.Import()
		want, ok := abiParams[name]
		if mod != importModule || !ok {
			return nil, fmt.Errorf("the module imports %s.%s, which is outside Teaclave's WebAssembly ABI (%s)", mod, name, abiList)
		}
		if !allI32(d.ParamTypes(), want) || !allI32(d.ResultTypes(), 1) {
			return nil, fmt.Errorf("the module imports %s.%s with type %s; the ABI's is %s",
				mod, name, signature(d.ParamTypes(), d.ResultTypes()), signature(i32s(want), i32s(1)))
		}
	}
	// precheck refused imported tables, memories and globals.
	exports := c.ExportedFunctions()
	entry, ok := exports[entrypoint]
	if !ok {
		return nil, errors.New("the module does not export a function named entrypoint")
	}
	m := &module{compiled: c, entry: entry}
	malloc, ok1 := exports["malloc"]
	free, ok2 := exports["free"]
	if ok1 && ok2 && defined(malloc) && defined(free) &&
		allI32(malloc.ParamTypes(), 1) && allI32(malloc.ResultTypes(), 1) &&
		allI32(free.ParamTypes(), 1) && len(free.ResultTypes()) == 0 {
		m.malloc = true
	}
	return m, nil
}

func defined(d api.FunctionDefinition) bool {
	_, _, imported := d.Import()
	return !imported
}

func allI32(ts []api.ValueType, n int) bool {
	if len(ts) != n {
		return false
	}
	for _, t := range ts {
		if t != api.ValueTypeI32 {
			return false
		}
	}
	return true
}

func i32s(n int) []api.ValueType {
	ts := make([]api.ValueType, n)
	for i := range ts {
		ts[i] = api.ValueTypeI32
	}
	return ts
}

func signature(params, results []api.ValueType) string {
	name := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	return name(params) + " -> " + name(results)
}

// Execute implements executor.Executor. It runs the payload's entrypoint
// with the task's arguments as (argc, argv) and returns the i32 it returns
// as decimal text. A trap is a successful result whose text is WAMR's
// exception string ("Exception: ..."), also logged, as Teaclave returned
// it; a payload that does not load, bad arguments and arguments that do
// not fit in memory fail the task. A canceled or timed-out ctx stops the
// module and returns ctx's error.
func (e *Executor) Execute(ctx context.Context, task *executor.Task, rt executor.Runtime) (executor.Result, error) {
	argv, err := flattenArguments(task.Arguments)
	if err != nil {
		return executor.Result{}, err
	}
	m, release, err := e.cache.get(ctx, task.Payload)
	if err != nil {
		if ctx.Err() != nil {
			return executor.Result{}, ctx.Err()
		}
		return executor.Result{}, err
	}
	defer release()

	log := rt.Logger(LogModule)
	fs := newFiles(rt, log)
	defer fs.closeAll()
	cctx := context.WithValue(ctx, filesKey{}, fs)

	// No start function by name: WAMR never called _start. The module's
	// start section still runs, as in WAMR.
	inst, err := e.rt.InstantiateModule(cctx, m.compiled, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		return e.outcome(ctx, log, err, "instantiating the module")
	}
	defer inst.Close(context.Background())

	argc := uint32(len(argv))
	argvPtr, err := placeArguments(cctx, inst, m.malloc, argv)
	if err != nil {
		return e.outcome(ctx, log, err, "placing the function's arguments")
	}

	params, cells := entryParams(m.entry.ParamTypes(), argc, argvPtr)
	if cells > 2 {
		// WAMR passed two cells and checked the callee's count.
		text := "Exception: invalid argument count 2, must be no smaller than " + strconv.Itoa(cells)
		log.Error("the function trapped: " + text)
		return executor.Result{ReturnValue: []byte(text)}, nil
	}
	results, err := inst.ExportedFunction(entrypoint).Call(cctx, params...)
	if err != nil {
		return e.outcome(ctx, log, err, "running entrypoint")
	}
	// WAMR read the first 32-bit cell of the result slot, which held argc
	// when the function returns nothing.
	rv := int32(argc)
	if len(results) > 0 {
		rv = int32(uint32(results[0]))
	}
	return executor.Result{ReturnValue: []byte(strconv.FormatInt(int64(rv), 10))}, nil
}

// outcome maps an error of the module to the task's result: ctx's error
// when ctx ended, a trap's exception text as a successful result, and
// anything else as a failure.
func (e *Executor) outcome(ctx context.Context, log *slog.Logger, err error, doing string) (executor.Result, error) {
	if ctx.Err() != nil {
		return executor.Result{}, ctx.Err()
	}
	if text, ok := trapText(err); ok {
		log.Error("the function trapped: " + text)
		return executor.Result{ReturnValue: []byte(text)}, nil
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		// Only ctx or Close ends a module (there is no WASI proc_exit).
		return executor.Result{}, errClosed
	}
	var pe *placeError
	if errors.As(err, &pe) {
		return executor.Result{}, pe
	}
	return executor.Result{}, fmt.Errorf("%s: %s", doing, firstLine(err.Error()))
}

// entryParams spreads WAMR's two argument cells (argc, argv) over the
// entry function's parameters: i32 and f32 take one cell, i64 and f64
// two. It returns the values and the cells the parameters need.
func entryParams(types []api.ValueType, argc, argv uint32) ([]uint64, int) {
	cells := [2]uint32{argc, argv}
	need := 0
	for _, t := range types {
		if t == api.ValueTypeI64 || t == api.ValueTypeF64 {
			need += 2
		} else {
			need++
		}
	}
	if need > 2 {
		return nil, need
	}
	params := make([]uint64, 0, len(types))
	i := 0
	for _, t := range types {
		if t == api.ValueTypeI64 || t == api.ValueTypeF64 {
			params = append(params, uint64(cells[0])|uint64(cells[1])<<32)
			i += 2
		} else {
			params = append(params, uint64(cells[i]))
			i++
		}
	}
	return params, need
}

// placeError is a failure to put the arguments in the module's memory.
type placeError struct{ reason string }

func (e *placeError) Error() string { return "cannot pass the function's arguments: " + e.reason }

// placeArguments copies argv into the instance's memory, as WAMR's
// wasm_runtime_module_dup_data did: each string with its NUL, then the
// array of their u32 offsets, with no NULL entry after it. With the
// module's own malloc when it exports one; otherwise in pages grown for
// them (wazero has no app heap; an allocator such as dlmalloc grows memory
// itself, so it never hands these pages out). It returns argv's offset.
func placeArguments(ctx context.Context, inst api.Module, malloc bool, argv []string) (uint32, error) {
	if len(argv) == 0 {
		return 0, nil
	}
	mem := memoryOf(inst)
	if mem == nil {
		// A module without memory cannot read its arguments anyway.
		return 0, nil
	}
	offsets := make([]byte, 4*len(argv))
	if malloc {
		alloc := inst.ExportedFunction("malloc")
		dup := func(b []byte) (uint32, error) {
			r, err := alloc.Call(ctx, uint64(len(b)))
			if err != nil {
				return 0, err
			}
			p := api.DecodeU32(r[0])
			if p == 0 || !mem.Write(p, b) {
				return 0, &placeError{"the module's malloc failed"}
			}
			return p, nil
		}
		for i, s := range argv {
			p, err := dup(append([]byte(s), 0))
			if err != nil {
				return 0, err
			}
			binary.LittleEndian.PutUint32(offsets[4*i:], p)
		}
		return dup(offsets)
	}
	size := uint64(0)
	for _, s := range argv {
		size += uint64(len(s)) + 1
	}
	arr := (size + 3) &^ 3
	size = arr + uint64(len(offsets))
	pages := (size + pageSize - 1) / pageSize
	if pages > 65536 {
		return 0, &placeError{"the arguments are larger than 4 GiB"}
	}
	prev, ok := mem.Grow(uint32(pages))
	if !ok {
		return 0, &placeError{fmt.Sprintf("the module's memory (%d pages) cannot grow by the %d pages they need", mem.Size()/pageSize, pages)}
	}
	base := uint64(prev) * pageSize
	if base+size > 1<<32 {
		return 0, &placeError{"the module's memory is full"}
	}
	at := uint32(base)
	for i, s := range argv {
		binary.LittleEndian.PutUint32(offsets[4*i:], at)
		mem.WriteString(at, s) // the NUL is there: new pages are zero
		at += uint32(len(s)) + 1
	}
	mem.Write(uint32(base+arr), offsets)
	return uint32(base + arr), nil
}

// trapText is WAMR's exception text for a trap of wazero's, and whether
// err is a trap.
func trapText(err error) (string, bool) {
	if errors.Is(err, errOutOfBounds) {
		return "Exception: out of bounds memory access", true
	}
	// wazero's traps read "wasm error: <what>\nwasm stack trace: ...",
	// behind "start function[...] failed: " when the start section trapped.
	// The compiler returns a call stack overflow bare.
	msg := err.Error()
	const marker = "wasm error: "
	var what string
	if i := strings.Index(msg, marker); i >= 0 {
		what = firstLine(msg[i+len(marker):])
	} else if msg == "stack overflow" {
		what = msg
	} else {
		return "", false
	}
	// WAMR's wording where it differs from wazero's.
	switch what {
	case "stack overflow":
		what = "wasm operand stack overflow"
	case "invalid table access":
		what = "undefined element"
	}
	return "Exception: " + what, true
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
