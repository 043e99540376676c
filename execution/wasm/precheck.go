package wasm

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Limits on a module's structure, from the WebAssembly JavaScript API's
// implementation limits, which every toolchain respects.
const (
	maxTypes         = 1_000_000
	maxFunctions     = 1_000_000
	maxImports       = 100_000
	maxExports       = 100_000
	maxGlobals       = 1_000_000
	maxDataSegments  = 100_000
	maxElemSegments  = 10_000_000
	maxTableSize     = 10_000_000
	maxParams        = 1000
	maxResults       = 1000
	maxLocals        = 50_000
	maxSectionNumber = 12
)

// precheck walks a module's structure before wazero decodes it. wazero
// allocates every vector at the length the binary states (up to 2^32
// elements) before reading it, so a few bytes could make it allocate
// gigabytes, which a Go program cannot survive. precheck refuses any
// count larger than the bytes left to hold its elements, and counts over
// the limits above, so that what wazero allocates stays proportional to
// the payload's size. It checks nothing wazero checks after it.
func precheck(b []byte) error {
	r := &reader{b: b}
	if !bytes.HasPrefix(b, []byte("\x00asm\x01\x00\x00\x00")) {
		return errors.New("not a WebAssembly 1.0 binary module")
	}
	r.off = 8
	for r.off < len(r.b) {
		id := r.byte()
		size := r.u32()
		if r.err != nil {
			return r.err
		}
		if int(size) > len(r.b)-r.off {
			return fmt.Errorf("section %d: %d bytes, more than the module holds", id, size)
		}
		s := &reader{b: r.b[r.off : r.off+int(size)]}
		r.off += int(size)
		if err := checkSection(id, s); err != nil {
			return fmt.Errorf("section %d: %w", id, err)
		}
	}
	return r.err
}

func checkSection(id byte, s *reader) error {
	switch id {
	case 0: // custom
		if string(s.name()) == "name" {
			// wazero always decodes the name section.
			checkNames(s)
		}
	case 1: // type
		n := s.count(maxTypes)
		for i := uint32(0); i < n && s.err == nil; i++ {
			if s.byte() != 0x60 {
				return errors.New("a type is not a function type")
			}
			s.valueTypes(maxParams)
			s.valueTypes(maxResults)
		}
	case 2: // import
		n := s.count(maxImports)
		for i := uint32(0); i < n && s.err == nil; i++ {
			mod, name := s.name(), s.name()
			switch kind := s.byte(); kind {
			case 0: // function: validate checks it against the ABI
				s.u32()
			case 1, 2, 3:
				if s.err != nil {
					break
				}
				what := map[byte]string{1: "a table", 2: "a memory", 3: "a global"}[kind]
				return fmt.Errorf("the module imports %s (%s.%s), which is outside Teaclave's WebAssembly ABI: it may import only the five host functions", what, printable(mod), printable(name))
			default:
				return errors.New("an import of an unknown kind")
			}
		}
	case 3: // function
		s.count(maxFunctions)
	case 4: // table
		n := s.count(1)
		for i := uint32(0); i < n && s.err == nil; i++ {
			s.byte()
			s.limits(maxTableSize)
		}
	case 5, 8, 12: // memory (wazero checks its limits), start, data count
	case 6: // global
		s.count(maxGlobals)
	case 7: // export
		n := s.count(maxExports)
		for i := uint32(0); i < n && s.err == nil; i++ {
			s.name()
			s.byte()
			s.u32()
		}
	case 9: // element
		n := s.count(maxElemSegments)
		for i := uint32(0); i < n && s.err == nil; i++ {
			if s.u32() != 0 {
				return errors.New("an element segment other than an active one of function indices needs bulk memory or reference types")
			}
			s.constExpr()
			m := s.count(maxFunctions)
			for j := uint32(0); j < m && s.err == nil; j++ {
				s.u32()
			}
		}
	case 10: // code
		n := s.count(maxFunctions)
		for i := uint32(0); i < n && s.err == nil; i++ {
			size := s.u32()
			if s.err == nil && int(size) > len(s.b)-s.off {
				return errors.New("a function body is larger than its section")
			}
			body := &reader{b: s.b[s.off : s.off+int(size)]}
			s.off += int(size)
			decls := body.count(maxLocals)
			total := uint64(0)
			for j := uint32(0); j < decls && body.err == nil; j++ {
				total += uint64(body.u32())
				body.byte()
				if total > maxLocals {
					return fmt.Errorf("a function has more than %d locals", maxLocals)
				}
			}
			if body.err != nil {
				return body.err
			}
		}
	case 11: // data
		n := s.count(maxDataSegments)
		for i := uint32(0); i < n && s.err == nil; i++ {
			if s.u32() != 0 {
				return errors.New("a data segment other than an active one of memory 0 needs bulk memory")
			}
			s.constExpr()
			s.name()
		}
	default:
		if id > maxSectionNumber {
			return errors.New("unknown section")
		}
	}
	return s.err
}

// printable is a name from a module, fit for an error message.
func printable(b []byte) string {
	if len(b) > 64 {
		b = b[:64]
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// reader reads a module's bytes, remembering its first error.
type reader struct {
	b   []byte
	off int
	err error
}

var errTruncated = errors.New("truncated")

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.fail(errTruncated)
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

// u32 reads an unsigned LEB128 of at most 32 bits.
func (r *reader) u32() uint32 {
	var v uint64
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			if v > 1<<32-1 {
				r.fail(errors.New("an integer overflows 32 bits"))
				return 0
			}
			return uint32(v)
		}
	}
	r.fail(errors.New("an integer is longer than 5 bytes"))
	return 0
}

// sleb skips a signed LEB128 of at most n bits.
func (r *reader) sleb(n int) {
	for i := 0; i < (n+6)/7; i++ {
		if r.byte()&0x80 == 0 {
			return
		}
	}
	r.fail(errors.New("an integer is too long"))
}

// count reads a vector's length: at most max, and at most the bytes left
// (every element takes at least one).
func (r *reader) count(max uint32) uint32 {
	n := r.u32()
	if r.err != nil {
		return 0
	}
	if n > max {
		r.fail(fmt.Errorf("%d elements, more than the limit of %d", n, max))
		return 0
	}
	if int64(n) > int64(len(r.b)-r.off) {
		r.fail(fmt.Errorf("%d elements in %d bytes", n, len(r.b)-r.off))
		return 0
	}
	return n
}

func (r *reader) skip(n uint32) {
	if r.err == nil {
		r.off += int(n) // count checked n against the bytes left
	}
}

func (r *reader) name() []byte {
	n := r.count(1<<32 - 1)
	if r.err != nil {
		return nil
	}
	b := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return b
}

// checkNames checks the subsections of the name section: the module's
// name, function names and local names.
func checkNames(s *reader) {
	nameMap := func(r *reader) {
		n := r.count(1<<32 - 1)
		for i := uint32(0); i < n && r.err == nil; i++ {
			r.u32()
			r.name()
		}
	}
	for s.off < len(s.b) && s.err == nil {
		id := s.byte()
		size := s.fixed(s.u32())
		sub := &reader{b: s.b[s.off : s.off+int(size)]}
		s.off += int(size)
		switch id {
		case 0:
			sub.name()
		case 1:
			nameMap(sub)
		case 2:
			n := sub.count(1<<32 - 1)
			for i := uint32(0); i < n && sub.err == nil; i++ {
				sub.u32()
				nameMap(sub)
			}
		}
		if sub.err != nil {
			s.fail(fmt.Errorf("name section: %w", sub.err))
		}
	}
}

// valueTypes reads a vector of numeric value types (the only ones without
// reference types and SIMD).
func (r *reader) valueTypes(max uint32) {
	n := r.count(max)
	for i := uint32(0); i < n && r.err == nil; i++ {
		switch r.byte() {
		case 0x7f, 0x7e, 0x7d, 0x7c:
		default:
			r.fail(errors.New("a value type other than i32, i64, f32 or f64"))
		}
	}
}

func (r *reader) limits(maxMin uint32) {
	flags := r.byte()
	if min := r.u32(); r.err == nil && min > maxMin {
		r.fail(fmt.Errorf("a minimum size of %d, more than the limit of %d", min, maxMin))
	}
	if flags&1 != 0 {
		r.u32()
	}
}

// constExpr skips a constant expression of the MVP: one constant or
// global.get, then end.
func (r *reader) constExpr() {
	switch r.byte() {
	case 0x41:
		r.sleb(32)
	case 0x42:
		r.sleb(64)
	case 0x43:
		r.skip(r.fixed(4))
	case 0x44:
		r.skip(r.fixed(8))
	case 0x23:
		r.u32()
	default:
		r.fail(errors.New("an unsupported constant expression"))
	}
	if r.byte() != 0x0b {
		r.fail(errors.New("a constant expression without end"))
	}
}

// fixed checks n bytes are left and returns n.
func (r *reader) fixed(n uint32) uint32 {
	if r.err == nil && int(n) > len(r.b)-r.off {
		r.fail(errTruncated)
		return 0
	}
	return n
}
