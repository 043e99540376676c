package starlark

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"go.starlark.net/starlark"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// Errors payloads see, with MesaPy's texts where it had one.
var (
	errNotSupported = errors.New("Teaclave Not Supported")
	errOpen         = errors.New("fileio_init: teaclave_ffi_error")
	errClosedFile   = errors.New("I/O operation on closed file")
)

// maxOpens is how many files one execution may open, as the handle
// sequence of Teaclave's executor context ran from 1 to 1023.
const maxOpens = 1023

// files is one execution's open files.
type files struct {
	rt     executor.Runtime
	log    *slog.Logger
	inputs map[string]bool
	opens  int
	open   []*file
}

// filesKey is the thread-local key of an execution's files.
const filesKey = "teaclave.files"

func filesOf(thread *starlark.Thread) (*files, error) {
	f, ok := thread.Local(filesKey).(*files)
	if !ok {
		return nil, errors.New("no task is running")
	}
	return f, nil
}

// closeAll closes what the payload left open, completing its outputs, as
// Teaclave dropped every handle at the end of an execution.
func (fs *files) closeAll() {
	for _, f := range fs.open {
		if err := f.close(); err != nil {
			fs.log.Warn(fmt.Sprintf("closing %s: %v", f.name, err))
		}
	}
	fs.open = nil
}

// teaclaveOpen is teaclave_open(name, mode="r"): "rb" opens the input
// name, a writable binary mode ("wb", "ab", "r+b", ...) creates the output
// name, and a text mode is refused, as in MesaPy.
func teaclaveOpen(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	mode := "r"
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "file_id", &name, "mode?", &mode); err != nil {
		return nil, err
	}
	fs, err := filesOf(thread)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(mode, "b") || strings.Trim(mode, "rwab+") != "" {
		return nil, errNotSupported
	}
	if fs.opens >= maxOpens {
		fs.log.Warn(fmt.Sprintf("teaclave_open(%s): Reached max sequence", name))
		return nil, errOpen
	}
	f := &file{name: name, mode: mode}
	if strings.ContainsAny(mode, "wa+") {
		w, err := fs.rt.CreateOutput(name)
		if err != nil {
			fs.log.Warn(fmt.Sprintf("teaclave_open(%s, %s): %v", name, mode, err))
			return nil, errOpen
		}
		f.w = w
	} else {
		r, err := fs.rt.OpenInput(name)
		if err != nil {
			fs.log.Warn(fmt.Sprintf("teaclave_open(%s, %s): %v", name, mode, err))
			return nil, errOpen
		}
		f.rc, f.r = r, bufio.NewReader(r)
	}
	fs.opens++
	fs.open = append(fs.open, f)
	return f, nil
}

// teaclaveHasInput is teaclave_has_input(name): whether the task has the
// input name. Starlark has no exceptions, so a payload with an optional
// input asks first instead of catching a failed open.
func teaclaveHasInput(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "file_id", &name); err != nil {
		return nil, err
	}
	fs, err := filesOf(thread)
	if err != nil {
		return nil, err
	}
	return starlark.Bool(fs.inputs[name]), nil
}

// file is a file object of teaclave_open: a buffered binary file with
// read, readline, readlines, write, flush, close, readable and writable,
// iterable by lines. Data is str, which in Starlark holds any bytes.
type file struct {
	name, mode string
	r          *bufio.Reader
	rc         io.ReadCloser
	w          io.WriteCloser
	closed     bool
}

var (
	_ starlark.HasAttrs = (*file)(nil)
	_ starlark.Iterable = (*file)(nil)
)

func (f *file) String() string {
	state := "open"
	if f.closed {
		state = "closed"
	}
	return fmt.Sprintf("<%s file %q, mode %q>", state, f.name, f.mode)
}
func (f *file) Type() string          { return "file" }
func (f *file) Freeze()               {}
func (f *file) Truth() starlark.Bool  { return starlark.True }
func (f *file) Hash() (uint32, error) { return 0, errors.New("unhashable type: file") }

type method func(f *file, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

// methodOf returns the file method name, or nil.
func methodOf(name string) method {
	switch name {
	case "read":
		return (*file).read
	case "readline":
		return (*file).readline
	case "readlines":
		return (*file).readlines
	case "write":
		return (*file).write
	case "flush":
		return (*file).flush
	case "close":
		return (*file).closeMethod
	case "readable":
		return (*file).readable
	case "writable":
		return (*file).writable
	}
	return nil
}

func (f *file) readable(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return starlark.Bool(f.r != nil), nil
}

func (f *file) writable(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return starlark.Bool(f.w != nil), nil
}

// Attr implements starlark.HasAttrs.
func (f *file) Attr(name string) (starlark.Value, error) {
	switch name {
	case "name":
		return starlark.String(f.name), nil
	case "mode":
		return starlark.String(f.mode), nil
	case "closed":
		return starlark.Bool(f.closed), nil
	}
	m := methodOf(name)
	if m == nil {
		return nil, nil
	}
	return starlark.NewBuiltin(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		return m(f, b, args, kwargs)
	}), nil
}

// AttrNames implements starlark.HasAttrs.
func (f *file) AttrNames() []string {
	return []string{"close", "closed", "flush", "mode", "name", "read", "readable", "readline", "readlines", "writable", "write"}
}

func (f *file) reader() (*bufio.Reader, error) {
	switch {
	case f.closed:
		return nil, errClosedFile
	case f.r == nil:
		return nil, errors.New("File not open for reading")
	}
	return f.r, nil
}

// read(size=-1) reads up to size bytes, or to the end.
func (f *file) read(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	size := -1
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "size?", &size); err != nil {
		return nil, err
	}
	r, err := f.reader()
	if err != nil {
		return nil, err
	}
	var src io.Reader = r
	if size >= 0 {
		src = io.LimitReader(r, int64(size))
	}
	// ReadAll grows with the data, whatever size says.
	data, err := io.ReadAll(src)
	if err != nil {
		return nil, err
	}
	return starlark.String(data), nil
}

// readline() reads one line with its newline, or "" at the end.
func (f *file) readline(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	r, err := f.reader()
	if err != nil {
		return nil, err
	}
	line, err := r.ReadString('\n')
	if err != nil && err != io.EOF {
		return nil, err
	}
	return starlark.String(line), nil
}

// readlines() reads every remaining line, each with its newline.
func (f *file) readlines(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	r, err := f.reader()
	if err != nil {
		return nil, err
	}
	var lines []starlark.Value
	for {
		line, err := r.ReadString('\n')
		if line != "" {
			lines = append(lines, starlark.String(line))
		}
		if err == io.EOF {
			return starlark.NewList(lines), nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// write(data) writes a str or bytes and returns the count written.
func (f *file) write(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var data starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "data", &data); err != nil {
		return nil, err
	}
	var p string
	switch d := data.(type) {
	case starlark.String:
		p = string(d)
	case starlark.Bytes:
		p = string(d)
	default:
		return nil, fmt.Errorf("write: want str or bytes, got %s", data.Type())
	}
	switch {
	case f.closed:
		return nil, errClosedFile
	case f.w == nil:
		return nil, errors.New("File not open for writing")
	}
	n, err := io.WriteString(f.w, p)
	if err != nil {
		return nil, err
	}
	return starlark.MakeInt(n), nil
}

func (f *file) flush(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	if f.closed {
		return nil, errClosedFile
	}
	return starlark.None, nil
}

// close() completes an output; closing twice is harmless, as in Python.
func (f *file) closeMethod(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	if err := f.close(); err != nil {
		return nil, err
	}
	return starlark.None, nil
}

func (f *file) close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	if f.rc != nil {
		return f.rc.Close()
	}
	return f.w.Close()
}

// Iterate implements starlark.Iterable: the remaining lines.
func (f *file) Iterate() starlark.Iterator { return &lineIterator{f: f} }

type lineIterator struct{ f *file }

func (it *lineIterator) Next(p *starlark.Value) bool {
	r, err := it.f.reader()
	if err != nil {
		return false
	}
	line, _ := r.ReadString('\n')
	if line == "" {
		return false
	}
	*p = starlark.String(line)
	return true
}

func (it *lineIterator) Done() {}
