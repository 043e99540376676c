package wasm

import (
	"context"
	"runtime"
	"strings"
	"testing"
)

// binModule assembles a binary module from sections (id, content).
func binModule(sections ...[]byte) []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range sections {
		b = append(b, s...)
	}
	return b
}

func section(id byte, content ...byte) []byte {
	return append(append([]byte{id}, uleb(uint32(len(content)))...), content...)
}

// big is a LEB128 of 2^31, a count no small module can hold.
var big = uleb(1 << 31)

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// TestPrecheckAllocations: tiny modules stating huge counts (which wazero
// would allocate before reading) are refused without allocating much.
// The first is what fuzzing found: 16 bytes made wazero allocate 900 MiB.
func TestPrecheckAllocations(t *testing.T) {
	for name, wasm := range map[string][]byte{
		"fuzz finding":       []byte("\x00asm\x01\x00\x00\x00\x0101`\x88\xb0\xb98"),
		"type params":        binModule(section(1, cat([]byte{1, 0x60}, big)...)),
		"types":              binModule(section(1, big...)),
		"imports":            binModule(section(2, big...)),
		"import name":        binModule(section(2, cat([]byte{1}, big)...)),
		"functions":          binModule(section(3, big...)),
		"globals":            binModule(section(6, big...)),
		"exports":            binModule(section(7, big...)),
		"export name":        binModule(section(7, cat([]byte{1}, big)...)),
		"elements":           binModule(section(9, big...)),
		"element functions":  binModule(section(9, cat([]byte{1, 0, 0x41, 0, 0x0b}, big)...)),
		"code":               binModule(section(10, big...)),
		"locals":             binModule(section(10, cat([]byte{1, 12, 2}, uleb(1<<31), []byte{0x7f}, uleb(1<<31), []byte{0x7f, 0x0b})...)),
		"data":               binModule(section(11, big...)),
		"data bytes":         binModule(section(11, cat([]byte{1, 0, 0x41, 0, 0x0b}, big)...)),
		"table min":          binModule(section(4, cat([]byte{1, 0x70, 0}, uleb(1<<27))...)),
		"name section names": binModule(section(0, cat([]byte{4}, []byte("name"), []byte{1, 6}, big)...)),
		"local names":        binModule(section(0, cat([]byte{4}, []byte("name"), []byte{2, 7, 1, 0}, big)...)),
		"section size":       binModule([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f}),
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := precheck(wasm)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: precheck accepted it", name)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
			t.Errorf("%s: precheck allocated %d bytes", name, grew)
		}
	}
	// Through the executor, with its message.
	e := newExecutor(t, Config{})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := run(context.Background(), e, binModule(section(10, big...)), `{}`, newRuntime(nil))
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "invalid WebAssembly payload: section 10: 2147483648 elements") {
		t.Errorf("got %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("refusing a tiny module allocated %d bytes", grew)
	}
}

// TestPrecheckAccepts: precheck passes every module the tests build and
// the small hand-made ones, leaving their checking to wazero.
func TestPrecheckAccepts(t *testing.T) {
	for _, name := range []string{"simple_add", "millionaire", "psi", "abi", "malloc", "kernel", "deadloop"} {
		if err := precheck(payload(t, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, wasm := range map[string][]byte{
		"empty":       binModule(),
		"custom":      binModule(section(0, cat([]byte{3}, []byte("abc"), []byte("anything"))...)),
		"name":        binModule(section(0, cat([]byte{4}, []byte("name"), []byte{0, 2, 1, 'm', 1, 4, 1, 0, 1, 'f'})...)),
		"one type":    binModule(section(1, 1, 0x60, 2, 0x7f, 0x7f, 1, 0x7f)),
		"data":        binModule(section(5, 1, 0, 1), section(11, 1, 0, 0x41, 0, 0x0b, 2, 'h', 'i')),
		"max locals":  binModule(section(1, 1, 0x60, 0, 0), section(3, 1, 0), section(10, cat([]byte{1, 6, 1}, uleb(maxLocals), []byte{0x7f, 0x0b})...)),
		"data count":  binModule(section(12, 0)),
		"start":       binModule(section(8, 0)),
		"global":      binModule(section(6, 1, 0x7f, 0, 0x41, 0, 0x0b)),
		"float const": binModule(section(6, 1, 0x7c, 0, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b)),
	} {
		if err := precheck(wasm); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, wasm := range map[string][]byte{
		"too many locals": binModule(section(10, cat([]byte{1, 7, 1}, uleb(maxLocals+1), []byte{0x7f, 0x0b})...)),
		"v128 param":      binModule(section(1, 1, 0x60, 1, 0x7b, 0)),
		"passive data":    binModule(section(11, 1, 1, 0)),
		"unknown section": binModule(section(14)),
		"bad magic":       []byte("\x00asm\x02\x00\x00\x00"),
		"long integer":    binModule(section(3, 0x80, 0x80, 0x80, 0x80, 0x80, 0)),
		"import global":   binModule(section(2, cat([]byte{1, 3}, []byte("env"), []byte{1, 'g', 3, 0x7f, 0})...)),
	} {
		if err := precheck(wasm); err == nil {
			t.Errorf("%s: precheck accepted it", name)
		}
	}
}
