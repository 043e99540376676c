package starlark

import (
	"context"
	"strings"
	"testing"
)

// TestFileAPI checks teaclave_open's file objects against MesaPy's:
// modes, reads of every kind, writes, closing, wrong-direction and
// closed-file errors, files left open, and the 1023-open limit.
func TestFileAPI(t *testing.T) {
	e := newExecutor(t, Config{})
	in := readTestdata(t, "mesapy_input.txt") // "Hello\nWorld": no newline at the end
	for name, c := range map[string]struct {
		src, want, out, log string
	}{
		"read all":     {src: "return teaclave_open('in', 'rb').read()", want: in},
		"read sizes":   {src: "f = teaclave_open('in', 'rb')\n    return '|'.join([f.read(3), f.read(0), f.read(100), f.read(2)])", want: "Hel||lo\nWorld|"},
		"readline":     {src: "f = teaclave_open('in', 'rb')\n    return repr([f.readline(), f.readline(), f.readline()])", want: `["Hello\n", "World", ""]`},
		"readlines":    {src: "return repr(teaclave_open('in', 'rb').readlines())", want: `["Hello\n", "World"]`},
		"iterate":      {src: "return '|'.join([l for l in teaclave_open('in', 'rb')])", want: "Hello\n|World"},
		"module open":  {src: "return teaclave.open('in', 'rb').read(5)", want: "Hello"},
		"has input":    {src: "return repr([teaclave_has_input('in'), teaclave.has_input('out'), teaclave_has_input('x')])", want: "[True, False, False]"},
		"kinds":        {src: "i = teaclave_open('in', 'rb')\n    o = teaclave_open('out', 'wb')\n    return repr([i.readable(), i.writable(), o.readable(), o.writable(), i.name, o.mode, i.closed])", want: `[True, False, False, True, "in", "wb", False]`},
		"write":        {src: "f = teaclave_open('out', 'wb')\n    n = f.write('ab') + f.write(b'\\x00c')\n    f.flush()\n    f.close()\n    f.close()\n    return str(n)", want: "4", out: "ab\x00c"},
		"append mode":  {src: "f = teaclave_open('out', 'ab')\n    f.write('x')\n    return 'ok'", want: "ok", out: "x"},
		"left open":    {src: "teaclave_open('out', 'wb').write('left open')\n    return 'ok'", want: "ok", out: "left open"},
		"copy":         {src: "i = teaclave_open('in', 'rb')\n    o = teaclave_open('out', 'r+b')\n    for l in i:\n        o.write(l.upper())\n    o.close()\n    return 'ok'", want: "ok", out: "HELLO\nWORLD"},
		"text read":    {src: "return teaclave_open('in', 'r').read()", want: ResultExecError, log: "Teaclave Not Supported"},
		"text write":   {src: "return teaclave_open('out', 'w').write('x')", want: ResultExecError, log: "Teaclave Not Supported"},
		"default mode": {src: "return teaclave_open('in').read()", want: ResultExecError, log: "Teaclave Not Supported"},
		"odd mode":     {src: "return teaclave_open('in', 'rbx').read()", want: ResultExecError, log: "Teaclave Not Supported"},
		"unknown":      {src: "return teaclave_open('nope', 'rb').read()", want: ResultExecError, log: "Invalid input file identifier."},
		"unknown out":  {src: "return teaclave_open('nope', 'wb').read()", want: ResultExecError, log: "Invalid output file identifier"},
		"input as out": {src: "return teaclave_open('in', 'wb')", want: ResultExecError, log: "fileio_init: teaclave_ffi_error"},
		"out twice":    {src: "teaclave_open('out', 'wb')\n    teaclave_open('out', 'wb')", want: ResultExecError, log: "output file already created"},
		"read output":  {src: "return teaclave_open('out', 'wb').read()", want: ResultExecError, log: "File not open for reading"},
		"write input":  {src: "return teaclave_open('in', 'rb').write('x')", want: ResultExecError, log: "File not open for writing"},
		"write int":    {src: "return teaclave_open('out', 'wb').write(1)", want: ResultExecError, log: "want str or bytes"},
		"read closed":  {src: "f = teaclave_open('in', 'rb')\n    f.close()\n    return f.read()", want: ResultExecError, log: "I/O operation on closed file"},
		"write closed": {src: "f = teaclave_open('out', 'wb')\n    f.close()\n    return f.write('x')", want: ResultExecError, log: "I/O operation on closed file"},
		"no attribute": {src: "return teaclave_open('in', 'rb').seek(0)", want: ResultExecError, log: "has no .seek field or method"},
		"max opens":    {src: "n = 0\n    for i in range(2000):\n        if n == 1023:\n            teaclave_open('in', 'rb')\n        teaclave_open('in', 'rb')\n        n += 1", want: ResultExecError, log: "Reached max sequence"},
		"1023 opens":   {src: "for i in range(1023):\n        teaclave_open('in', 'rb').close()\n    return 'ok'", want: "ok"},
	} {
		rt := newRuntime(map[string]string{"in": in}, "out")
		got, err := run(context.Background(), e, "def entrypoint(argv):\n    "+c.src+"\n", `{}`, rt)
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v; want %q (log %q)", name, got, err, c.want, rt.LogText())
			continue
		}
		if c.out != "" {
			if out := rt.Output(t, "out"); out != c.out {
				t.Errorf("%s: output %q, want %q", name, out, c.out)
			}
		}
		if c.log != "" && !strings.Contains(rt.LogText(), c.log) {
			t.Errorf("%s: the log %q does not say %q", name, rt.LogText(), c.log)
		}
	}
}
