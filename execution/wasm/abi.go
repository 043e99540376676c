package wasm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// Teaclave's host ABI (functions.md §3.1): five functions in module env,
// every parameter and result an i32, -1 for an error.
const (
	importModule   = "env"
	fnOpenInput    = "teaclave_open_input"
	fnCreateOutput = "teaclave_create_output"
	fnReadFile     = "teaclave_read_file"
	fnWriteFile    = "teaclave_write_file"
	fnCloseFile    = "teaclave_close_file"
)

// abiParams is each host function's parameter count; all are i32, and
// each returns one i32.
var abiParams = map[string]int{
	fnOpenInput:    1,
	fnCreateOutput: 1,
	fnReadFile:     3,
	fnWriteFile:    3,
	fnCloseFile:    1,
}

// abiList names the ABI for error messages.
const abiList = "env.teaclave_open_input, env.teaclave_create_output, env.teaclave_read_file, env.teaclave_write_file, env.teaclave_close_file"

// Handle numbering of Teaclave's executor context: one sequence from 1 to
// maxSeq per execution; an output's handle has outputFlag set.
const (
	maxSeq     = 1023
	outputFlag = 0x4000_0000
)

// errOutOfBounds is raised (as a panic, which wazero turns into a trap)
// when a pointer argument of a host function leaves linear memory, as
// WAMR's signature checks trap before the host function runs.
var errOutOfBounds = errors.New("out of bounds memory access")

// files is one execution's file handles: the executor context Teaclave's
// WAMR and MesaPy executors shared.
type files struct {
	rt  executor.Runtime
	log *slog.Logger
	seq int32
	in  map[int32]io.ReadCloser
	out map[int32]io.WriteCloser
}

func newFiles(rt executor.Runtime, log *slog.Logger) *files {
	return &files{rt: rt, log: log, in: map[int32]io.ReadCloser{}, out: map[int32]io.WriteCloser{}}
}

// next takes the next handle number; callers check f.seq < maxSeq first.
func (f *files) next() int32 {
	f.seq++
	return f.seq
}

func (f *files) openInput(name string) int32 {
	if f.seq >= maxSeq {
		f.log.Warn(fnOpenInput + "(" + name + "): Reached max sequence")
		return -1
	}
	r, err := f.rt.OpenInput(name)
	if err != nil {
		f.log.Warn(fnOpenInput + "(" + name + "): " + err.Error())
		return -1
	}
	h := f.next()
	f.in[h] = r
	return h
}

func (f *files) createOutput(name string) int32 {
	if f.seq >= maxSeq {
		f.log.Warn(fnCreateOutput + "(" + name + "): Reached max sequence")
		return -1
	}
	w, err := f.rt.CreateOutput(name)
	if err != nil {
		f.log.Warn(fnCreateOutput + "(" + name + "): " + err.Error())
		return -1
	}
	h := f.next() | outputFlag
	f.out[h] = w
	return h
}

// read is one Read of the input: a short count is not an error, 0 is the
// end of the file.
func (f *files) read(h int32, p []byte) int32 {
	r, ok := f.in[h]
	if !ok {
		return -1
	}
	n, err := r.Read(p)
	if n == 0 && err != nil && err != io.EOF {
		f.log.Warn(fmt.Sprintf("%s(%d): %v", fnReadFile, h, err))
		return -1
	}
	return int32(n)
}

func (f *files) write(h int32, p []byte) int32 {
	w, ok := f.out[h]
	if !ok {
		return -1
	}
	n, err := w.Write(p)
	if err != nil {
		f.log.Warn(fmt.Sprintf("%s(%d): %v", fnWriteFile, h, err))
		return -1
	}
	return int32(n)
}

func (f *files) close(h int32) int32 {
	if r, ok := f.in[h]; ok {
		delete(f.in, h)
		r.Close()
		return 0
	}
	if w, ok := f.out[h]; ok {
		delete(f.out, h)
		if err := w.Close(); err != nil {
			f.log.Warn(fmt.Sprintf("%s(%d): %v", fnCloseFile, h, err))
			return -1
		}
		return 0
	}
	return -1
}

// closeAll drops the handles the function left open, completing its
// outputs, as Teaclave did at the end of every execution.
func (f *files) closeAll() {
	for h, r := range f.in {
		r.Close()
		delete(f.in, h)
	}
	for h, w := range f.out {
		if err := w.Close(); err != nil {
			f.log.Warn(fmt.Sprintf("closing output handle %d: %v", h, err))
		}
		delete(f.out, h)
	}
}

type filesKey struct{}

// filesFrom returns the execution's handles, which Execute puts in the
// context of every call into the module.
func filesFrom(ctx context.Context) *files {
	f, _ := ctx.Value(filesKey{}).(*files)
	return f
}

// memoryOf returns m's memory, or nil when it has none: wazero returns a
// nil *MemoryInstance in a non-nil api.Memory then.
func memoryOf(m api.Module) api.Memory {
	mem := m.Memory()
	if mem == nil {
		return nil
	}
	if v := reflect.ValueOf(mem); v.Kind() == reflect.Pointer && v.IsNil() {
		return nil
	}
	return mem
}

// cString reads the NUL-terminated string at ptr: it must start inside
// memory and end before memory does, else the call traps. Invalid UTF-8 is
// replaced, as Teaclave decoded names lossily.
func cString(m api.Module, ptr uint32) string {
	mem := memoryOf(m)
	if mem == nil || ptr >= mem.Size() {
		panic(errOutOfBounds)
	}
	b, ok := mem.Read(ptr, mem.Size()-ptr)
	if !ok {
		panic(errOutOfBounds)
	}
	n := bytes.IndexByte(b, 0)
	if n < 0 {
		panic(errOutOfBounds)
	}
	return strings.ToValidUTF8(string(b[:n]), "\uFFFD")
}

// span returns the memory [ptr, ptr+n) with n unsigned, trapping if it is
// not all inside memory.
func span(m api.Module, ptr, n uint32) []byte {
	mem := memoryOf(m)
	if mem == nil {
		if n == 0 {
			return nil
		}
		panic(errOutOfBounds)
	}
	b, ok := mem.Read(ptr, n)
	if !ok {
		panic(errOutOfBounds)
	}
	return b
}

// instantiateABI registers the host module env in r.
func instantiateABI(ctx context.Context, r wazero.Runtime) error {
	i32 := api.ValueTypeI32
	one, three := []api.ValueType{i32}, []api.ValueType{i32, i32, i32}
	b := r.NewHostModuleBuilder(importModule)
	def := func(name string, params []api.ValueType, fn api.GoModuleFunc) {
		b.NewFunctionBuilder().WithGoModuleFunction(fn, params, one).WithName(name).Export(name)
	}
	def(fnOpenInput, one, func(ctx context.Context, m api.Module, stack []uint64) {
		name := cString(m, api.DecodeU32(stack[0]))
		stack[0] = result(ctx, func(f *files) int32 { return f.openInput(name) })
	})
	def(fnCreateOutput, one, func(ctx context.Context, m api.Module, stack []uint64) {
		name := cString(m, api.DecodeU32(stack[0]))
		stack[0] = result(ctx, func(f *files) int32 { return f.createOutput(name) })
	})
	def(fnReadFile, three, func(ctx context.Context, m api.Module, stack []uint64) {
		h, p := api.DecodeI32(stack[0]), span(m, api.DecodeU32(stack[1]), api.DecodeU32(stack[2]))
		stack[0] = result(ctx, func(f *files) int32 { return f.read(h, p) })
	})
	def(fnWriteFile, three, func(ctx context.Context, m api.Module, stack []uint64) {
		h, p := api.DecodeI32(stack[0]), span(m, api.DecodeU32(stack[1]), api.DecodeU32(stack[2]))
		stack[0] = result(ctx, func(f *files) int32 { return f.write(h, p) })
	})
	def(fnCloseFile, one, func(ctx context.Context, m api.Module, stack []uint64) {
		h := api.DecodeI32(stack[0])
		stack[0] = result(ctx, func(f *files) int32 { return f.close(h) })
	})
	_, err := b.Instantiate(ctx)
	return err
}

// result runs op on the call's handles; -1 if there are none (a call
// outside Execute, which cannot happen).
func result(ctx context.Context, op func(*files) int32) uint64 {
	f := filesFrom(ctx)
	if f == nil {
		return api.EncodeI32(-1)
	}
	return api.EncodeI32(op(f))
}
