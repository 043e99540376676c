package starlark

import (
	"fmt"
	"math/bits"
	"strings"
	"unicode"

	starlarkjson "go.starlark.net/lib/json"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
)

// Limits on integers, whose arithmetic and conversions Starlark does in
// one uninterruptible step: multiplying two n-bit integers, or converting
// n digits, takes time growing faster than n.
const (
	maxIntBits   = 1 << 20 // a result of *
	maxIntDigits = 100_000 // a string int() converts
	// valueSize is what one element of a list, tuple or set holds.
	valueSize = 16
)

// guard checks, before Starlark runs them, the built-in operations that
// could build a result far larger than their operands or iterate a lazy
// range to its end: Starlark completes each such operation without
// checking for cancellation or the heap watchdog, so one of them could
// exhaust the process's memory or never return. maxBytes bounds a result
// in bytes (strings, text), maxElems in elements (lists, iterations).
type guard struct {
	maxBytes int64
	maxElems int64
}

func newGuard(maxBytes int64) *guard {
	return &guard{maxBytes: maxBytes, maxElems: maxBytes / valueSize}
}

func (g *guard) tooBig(what string, size int64) error {
	return fmt.Errorf("%s would take %d bytes, more than one operation may (%d)", what, size, g.maxBytes)
}

// elems refuses an iterable of known length over maxElems; strings and
// bytes, whose length is in bytes, are left to the callers.
func (g *guard) elems(what string, v starlark.Value) error {
	switch v.(type) {
	case starlark.String, starlark.Bytes:
		return nil
	}
	if n := int64(starlark.Len(v)); n > g.maxElems {
		return fmt.Errorf("%s: %d elements, more than one operation may take (%d)", what, n, g.maxElems)
	}
	return nil
}

// args applies elems to every argument.
func (g *guard) args(what string, args starlark.Tuple, kwargs []starlark.Tuple) error {
	for _, a := range args {
		if err := g.elems(what, a); err != nil {
			return err
		}
	}
	for _, kv := range kwargs {
		if err := g.elems(what, kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// text bounds the text of values (str, repr, print, %, format): their
// sizes, counting every reference to a shared value again, as the text
// repeats it.
func (g *guard) text(what string, vs ...starlark.Value) error {
	var total int64
	for _, v := range vs {
		total += textSize(v, g.maxBytes-total)
		if total > g.maxBytes {
			return g.tooBig(what, total)
		}
	}
	return nil
}

// textSize estimates the length of v's text, stopping once it passes
// limit: so its work is bounded even for a structure sharing values
// (whose text grows exponentially with its depth) or holding itself.
func textSize(v starlark.Value, limit int64) int64 {
	type frame struct {
		seq  starlark.Indexable
		i    int
		iter starlark.Iterator
		dict *starlark.Dict
	}
	var total int64
	var stack []frame
	visit := func(x starlark.Value) {
		switch x := x.(type) {
		case starlark.String:
			total += int64(len(x)) + 2
		case starlark.Bytes:
			total += 4*int64(len(x)) + 3
		case starlark.Int:
			total += int64(intBits(x))/3 + 2
		case *starlark.List:
			total += 2
			stack = append(stack, frame{seq: x})
		case starlark.Tuple:
			total += 2
			stack = append(stack, frame{seq: x})
		case *starlark.Dict:
			total += 2
			stack = append(stack, frame{iter: x.Iterate(), dict: x})
		case *starlark.Set:
			total += 5
			stack = append(stack, frame{iter: x.Iterate()})
		default:
			total += 64
		}
	}
	visit(v)
	for len(stack) > 0 && total <= limit {
		f := &stack[len(stack)-1]
		var next starlark.Value
		switch {
		case f.seq != nil:
			if f.i == f.seq.Len() {
				stack = stack[:len(stack)-1]
				continue
			}
			next = f.seq.Index(f.i)
			f.i++
		default:
			if !f.iter.Next(&next) {
				f.iter.Done()
				stack = stack[:len(stack)-1]
				continue
			}
			if f.dict != nil {
				value, _, _ := f.dict.Get(next)
				total += 4
				visit(value)
			}
		}
		total += 2
		visit(next)
	}
	for _, f := range stack {
		if f.iter != nil {
			f.iter.Done()
		}
	}
	return total
}

func intBits(x starlark.Int) int {
	if v, ok := x.Int64(); ok {
		if v < 0 {
			v = -v
		}
		return bits.Len64(uint64(v))
	}
	return x.BigInt().BitLen()
}

// mul is x * y.
func (g *guard) mul(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, y starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &x, &y); err != nil {
		return nil, err
	}
	if err := g.checkMul(x, y); err != nil {
		return nil, err
	}
	return starlark.Binary(syntax.STAR, x, y)
}

func (g *guard) checkMul(x, y starlark.Value) error {
	xi, xInt := x.(starlark.Int)
	yi, yInt := y.(starlark.Int)
	switch {
	case xInt && yInt:
		if n := intBits(xi) + intBits(yi); n > maxIntBits {
			return fmt.Errorf("multiplication would give an integer of about %d bits, more than %d", n, maxIntBits)
		}
		return nil
	case xInt:
		x, yi = y, xi
	case !yInt:
		return nil
	}
	n, ok := yi.Int64()
	if !ok {
		n = 1 << 62
	}
	if n <= 0 {
		return nil
	}
	var size int64
	switch x := x.(type) {
	case starlark.String:
		size = int64(len(x))
	case starlark.Bytes:
		size = int64(len(x))
	case *starlark.List, starlark.Tuple:
		size = int64(starlark.Len(x)) * valueSize
	default:
		return nil
	}
	if size > 0 && (n > g.maxBytes || size*n > g.maxBytes) {
		return g.tooBig("repetition", satMul(size, n))
	}
	return nil
}

// fields counts the runs of non-space characters in s.
func fields(s string) int64 {
	var n int64
	in := false
	for _, r := range s {
		space := unicode.IsSpace(r)
		if !space && !in {
			n++
		}
		in = !space
	}
	return n
}

func satMul(a, b int64) int64 {
	if a != 0 && b > (1<<62)/a {
		return 1 << 62
	}
	return a * b
}

// mod is x % y: string formatting repeats its arguments' text.
func (g *guard) mod(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, y starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &x, &y); err != nil {
		return nil, err
	}
	if format, ok := x.(starlark.String); ok {
		if err := g.formatting("% formatting", string(format), "%", y); err != nil {
			return nil, err
		}
	}
	return starlark.Binary(syntax.PERCENT, x, y)
}

// formatting bounds a format with n placeholders over args: each may be
// the largest argument's text.
func (g *guard) formatting(what, format, placeholder string, args ...starlark.Value) error {
	var values []starlark.Value
	for _, a := range args {
		switch a := a.(type) {
		case starlark.Tuple:
			values = append(values, a...)
		case *starlark.Dict:
			for _, kv := range a.Items() {
				values = append(values, kv[1])
			}
		default:
			values = append(values, a)
		}
	}
	var largest int64
	for _, v := range values {
		largest = max(largest, textSize(v, g.maxBytes))
	}
	n := int64(strings.Count(format, placeholder))
	if size := int64(len(format)) + satMul(n, largest); size > g.maxBytes {
		return g.tooBig(what, size)
	}
	return nil
}

// iter is the right side of x += y: a list extended by a lazy range would
// be extended to its end in one step.
func (g *guard) iter(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var y starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &y); err != nil {
		return nil, err
	}
	if err := g.elems("+=", y); err != nil {
		return nil, err
	}
	return y, nil
}

// attr is x.name for a guarded method: the method, checked when called.
func (g *guard) attr(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value
	var name string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &x, &name); err != nil {
		return nil, err
	}
	v, err := starlark.Call(thread, starlark.Universe["getattr"], starlark.Tuple{x, starlark.String(name)}, nil)
	if err != nil {
		return nil, err
	}
	return g.wrapMethod(x, name, v), nil
}

// wrapMethod returns method, checked by checkCall when called.
func (g *guard) wrapMethod(recv starlark.Value, name string, method starlark.Value) starlark.Value {
	if !guardedMethod(name) {
		return method
	}
	if _, ok := method.(*starlark.Builtin); !ok {
		return method // a struct field or a payload's own function
	}
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := g.checkCall(recv, name, args, kwargs); err != nil {
			return nil, err
		}
		return starlark.Call(thread, method, args, kwargs)
	})
}

func (g *guard) checkCall(recv starlark.Value, name string, args starlark.Tuple, kwargs []starlark.Tuple) error {
	if err := g.args(name, args, kwargs); err != nil {
		return err
	}
	arg := func(i int) starlark.Value {
		if i < len(args) {
			return args[i]
		}
		return nil
	}
	if name == "encode" && len(args) > 0 {
		return g.text("encode", args[0])
	}
	s, ok := recv.(starlark.String)
	if !ok {
		return nil
	}
	switch name {
	case "replace":
		old, ok1 := arg(0).(starlark.String)
		repl, ok2 := arg(1).(starlark.String)
		if !ok1 || !ok2 {
			return nil
		}
		n := int64(strings.Count(string(s), string(old)))
		if c, ok := arg(2).(starlark.Int); ok {
			if c, ok := c.Int64(); ok && c >= 0 && c < n {
				n = c
			}
		}
		if size := int64(len(s)) + satMul(n, int64(len(repl))); size > g.maxBytes {
			return g.tooBig("replace", size)
		}
	case "join":
		seq, ok := arg(0).(starlark.Indexable)
		if !ok {
			return nil
		}
		size := int64(len(s)) * int64(seq.Len())
		for i := 0; i < seq.Len() && size <= g.maxBytes; i++ {
			if part, ok := seq.Index(i).(starlark.String); ok {
				size += int64(len(part))
			}
		}
		if size > g.maxBytes {
			return g.tooBig("join", size)
		}
	case "split", "rsplit", "splitlines":
		var n int64
		sep, ok := arg(0).(starlark.String)
		switch {
		case name == "splitlines":
			n = int64(strings.Count(string(s), "\n")) + 1
		case ok && sep != "":
			n = int64(strings.Count(string(s), string(sep))) + 1
		default: // on runs of white space
			n = fields(string(s)) + 1
		}
		if max, ok := arg(1).(starlark.Int); ok && name != "splitlines" {
			if max, ok := max.Int64(); ok && max >= 0 && max+1 < n {
				n = max + 1
			}
		}
		// Each piece is a string header and a list element.
		if size := satMul(n, 2*valueSize); size > g.maxBytes {
			return g.tooBig(name, size)
		}
	case "format":
		values := append(starlark.Tuple{}, args...)
		for _, kv := range kwargs {
			values = append(values, kv[1])
		}
		return g.formatting("format", string(s), "{", values...)
	}
	return nil
}

// universe returns guarded versions of Starlark's built-ins that iterate
// or build in one step (list, sorted, any, ...), format values (str,
// repr, print, fail), or convert to integers (int), to predeclare in
// their place.
func (g *guard) universe() starlark.StringDict {
	d := starlark.StringDict{}
	wrap := func(name string, check func(args starlark.Tuple, kwargs []starlark.Tuple) error) {
		inner := starlark.Universe[name]
		d[name] = starlark.NewBuiltin(name, func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := check(args, kwargs); err != nil {
				return nil, err
			}
			return starlark.Call(thread, inner, args, kwargs)
		})
	}
	for _, name := range []string{"list", "tuple", "sorted", "set", "reversed", "enumerate", "zip", "dict", "any", "all", "min", "max", "bytes"} {
		wrap(name, func(args starlark.Tuple, kwargs []starlark.Tuple) error { return g.args(name, args, kwargs) })
	}
	for _, name := range []string{"str", "repr", "print", "fail"} {
		wrap(name, func(args starlark.Tuple, kwargs []starlark.Tuple) error {
			if name == "str" && len(args) == 1 {
				if _, ok := args[0].(starlark.String); ok {
					return nil
				}
			}
			values := append(starlark.Tuple{}, args...)
			for _, kv := range kwargs {
				values = append(values, kv[1])
			}
			return g.text(name, values...)
		})
	}
	wrap("int", func(args starlark.Tuple, _ []starlark.Tuple) error {
		if len(args) > 0 {
			if n := starlark.Len(args[0]); n > maxIntDigits {
				return fmt.Errorf("int: %d digits, more than %d", n, maxIntDigits)
			}
		}
		return nil
	})
	getattr := starlark.Universe["getattr"]
	d["getattr"] = starlark.NewBuiltin("getattr", func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		v, err := starlark.Call(thread, getattr, args, kwargs)
		if err != nil || len(args) < 2 {
			return v, err
		}
		name, _ := starlark.AsString(args[1])
		return g.wrapMethod(args[0], name, v), nil
	})
	// Named after the operations they check, for error messages.
	d[guardMul] = starlark.NewBuiltin("*", g.mul)
	d[guardMod] = starlark.NewBuiltin("%", g.mod)
	d[guardIter] = starlark.NewBuiltin("+=", g.iter)
	d[guardAttr] = starlark.NewBuiltin("getattr", g.attr)
	return d
}

// json is go.starlark.net's json module with encode guarded and without
// indent, whose output can grow far past its input.
func (g *guard) json() *starlarkstruct.Module {
	encode := starlarkjson.Module.Members["encode"]
	return &starlarkstruct.Module{Name: "json", Members: starlark.StringDict{
		"encode": g.wrapMethod(starlarkjson.Module, "encode", encode),
		"decode": starlarkjson.Module.Members["decode"],
	}}
}
