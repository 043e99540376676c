package starlark

import (
	"context"
	"runtime"
	"strings"
	"testing"
)

// TestGuard: operations that Starlark runs to completion in one step, and
// that would build far more than their operands (or iterate a lazy range
// to its end), are refused before they allocate: MESAPY_EXEC_ERROR with the
// reason in the log, the process's allocations staying small.
func TestGuard(t *testing.T) {
	e := newExecutor(t, Config{MaxOperationBytes: 1 << 20})
	const big = "b = 'x' * 100000\n    "
	const dag = "a = [1]\n    for i in range(60):\n        a = [a, a]\n    "
	for name, c := range map[string]struct{ src, log string }{
		"list repeat":        {"return len([None] * (1 << 29))", "Error in *: repetition"},
		"int times list":     {"return len((1 << 29) * [None])", "Error in *: repetition"},
		"string repeat":      {"return len('x' * (1 << 21))", "Error in *: repetition"},
		"huge count":         {"return len('x' * (1 << 100))", "Error in *: repetition"},
		"augmented repeat":   {"x = [0]\n    x *= 1 << 29\n    return len(x)", "Error in *: repetition"},
		"augmented index":    {"l = [[0]]\n    l[0] *= 1 << 29\n    return len(l[0])", "Error in *: repetition"},
		"computed target":    {"l = [[0]]\n    def f():\n        return l\n    f()[0] *= 2", "on a target computed by a call is not supported"},
		"replace":            {big + "return len(b.replace('x', b))", "replace would take"},
		"method value":       {big + "r = b.replace\n    return len(r('x', b))", "replace would take"},
		"getattr":            {big + "return len(getattr(b, 'replace')('x', b))", "replace would take"},
		"join":               {big + "return len(','.join([b] * 100))", "join would take"},
		"split":              {"s = ',' * 100000\n    return len(s.split(','))", "split would take"},
		"split spaces":       {"s = 'a ' * 100000\n    return len(s.split())", "split would take"},
		"splitlines":         {"s = '\\n' * 100000\n    return len(s.splitlines())", "splitlines would take"},
		"percent":            {big + "return len(('%s' * 20) % tuple([b] * 20))", "% formatting would take"},
		"percent assign":     {big + "s = '%s' * 20\n    s %= tuple([b] * 20)\n    return len(s)", "% formatting would take"},
		"format":             {big + "return len(('{0}' * 20).format(b))", "format would take"},
		"list range":         {"return len(list(range(1 << 40)))", "list: 1099511627776 elements"},
		"tuple range":        {"return len(tuple(range(1 << 40)))", "tuple: "},
		"sorted range":       {"return len(sorted(range(1 << 40)))", "sorted: "},
		"set range":          {"return len(set(range(1 << 40)))", "set: "},
		"any range":          {"return str(any([]) or any(range(1, 1 << 62)))", "any: "},
		"all range":          {"return str(all(range(1, 1 << 62)))", "all: "},
		"min range":          {"return str(min(range(1 << 62)))", "min: "},
		"enumerate range":    {"return str(len(enumerate(range(1 << 40))))", "enumerate: "},
		"zip range":          {"return str(len(zip(range(1 << 40))))", "zip: "},
		"reversed range":     {"return str(len(reversed(range(1 << 40))))", "reversed: "},
		"bytes range":        {"return str(len(bytes(range(1 << 40))))", "bytes: "},
		"plus-assign range":  {"l = []\n    l += range(1 << 40)\n    return str(len(l))", "+=: "},
		"extend range":       {"l = []\n    l.extend(range(1 << 40))\n    return str(len(l))", "extend: "},
		"set union range":    {"return str(len(set().union(range(1 << 40))))", "union: "},
		"str of shared list": {dag + "return str(len(str(a)))", "str would take"},
		"repr":               {dag + "return repr(a)", "repr would take"},
		"print":              {dag + "print(a)", "print would take"},
		"fail":               {dag + "fail(a)", "fail would take"},
		"json":               {dag + "return json.encode(a)", "encode would take"},
		"percent shared":     {dag + "return '%s' % (a,)", "% formatting would take"},
		"big integer":        {"x = 3\n    for i in range(40):\n        x = x * x\n    return str(x)", "multiplication would give an integer"},
		"int parse":          {"return str(int('1' * 200000))", "int: 200000 digits"},
	} {
		rt := newRuntime(nil)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var got string
		var err error
		waitDone(t, name, func() { got, err = run(context.Background(), e, "def entrypoint(argv):\n    "+c.src+"\n", `{}`, rt) })
		runtime.ReadMemStats(&after)
		if err != nil || got != ResultExecError || !strings.Contains(rt.LogText(), c.log) {
			t.Errorf("%s: got %.60q, %v; want %s and %q in the log %q", name, got, err, ResultExecError, c.log, rt.LogText())
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
			t.Errorf("%s: %d bytes allocated", name, grew)
		}
	}
}

// TestGuardAllows: the guards leave ordinary operations alone, with the
// same results as Starlark's own.
func TestGuardAllows(t *testing.T) {
	e := newExecutor(t, Config{MaxOperationBytes: 1 << 20})
	for name, c := range map[string]struct{ src, want string }{
		"numbers":        {"return str(6 * 7) + str(7 % 4) + str(2.5 * 2)", "4235.0"},
		"repeat":         {"return 'ab' * 3 + str([1] * 2) + str((1,) * 2) + str(3 * 'c')", "ababab[1, 1](1, 1)ccc"},
		"augmented":      {"x = 'a'\n    x *= 3\n    n = 10\n    n %= 4\n    l = [[1]]\n    l[0] *= 2\n    return x + str(n) + str(l)", "aaa2[[1, 1]]"},
		"plus-assign":    {"l = [1]\n    m = l\n    l += [2]\n    l += range(2)\n    s = 'a'\n    s += 'b'\n    return str(m) + s", "[1, 2, 0, 1]ab"},
		"methods":        {"return 'a-b'.replace('-', '+') + ','.join(['x', 'y']) + str('a b'.split()) + str('a,b'.split(',', 1)) + '{}!'.format('hi')", "a+bx,y[\"a\", \"b\"][\"a\", \"b\"]hi!"},
		"percent":        {"return '%s=%d' % ('k', 3) + '%(a)s' % {'a': 'v'}", "k=3v"},
		"builtins":       {"return str(list(range(3))) + str(sorted([3, 1])) + str(max(1, 2)) + str(any([0, 1])) + str(dict(a=1)) + str(int('42'))", "[0, 1, 2][1, 3]2True{\"a\": 1}42"},
		"json":           {"return json.encode(json.decode('[1, \"a\"]'))", "[1,\"a\"]"},
		"getattr":        {"f = getattr('a,b', 'split')\n    return str(f(','))", "[\"a\", \"b\"]"},
		"method as name": {"d = {'update': 1}\n    return str(d['update'])", "1"},
		"set ops":        {"return str(sorted(set([1, 2]).union([3])))", "[1, 2, 3]"},
		"keyword args":   {"return str(sorted([1, 3, 2], reverse = 2 * 1 == 2))", "[3, 2, 1]"},
		"lambda default": {"f = lambda x = 2 * 3: x % 4\n    return str(f())", "2"},
		"comprehension":  {"return str([x * 2 for x in range(3) if x % 2 == 0])", "[0, 4]"},
		"slices":         {"return 'abcdef'[1 * 1:2 * 2]", "bcd"},
		"dict values":    {"return str({'k': 2 * 2})", "{\"k\": 4}"},
	} {
		got, err := run(context.Background(), e, "def entrypoint(argv):\n    "+c.src+"\n", `{}`, newRuntime(nil))
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v; want %q", name, got, err, c.want)
		}
	}
}
