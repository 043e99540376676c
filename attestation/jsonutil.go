package attestation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// walkObject calls fn for each member of the JSON object data, in order,
// with the member's raw (validated) value. It refuses anything but a single
// valid JSON object, and duplicate keys (serde, which Teaclave's peers use,
// refuses them too; accepting them would let two parsers read different
// values from the same signed bytes). It is a small hand-written scanner
// because encoding/json's took a third of a cold certificate verification.
func walkObject(data []byte, fn func(key string, value json.RawMessage) error) error {
	s := &jscan{b: data}
	s.ws()
	if !s.eat('{') {
		return errors.New("not a JSON object")
	}
	seen := make(map[string]struct{})
	s.ws()
	if !s.eat('}') {
		for {
			s.ws()
			start := s.i
			if err := s.str(); err != nil {
				return err
			}
			key, err := decodeKey(data[start:s.i])
			if err != nil {
				return err
			}
			if _, dup := seen[key]; dup {
				return fmt.Errorf("duplicate key %.40q", key)
			}
			seen[key] = struct{}{}
			s.ws()
			if !s.eat(':') {
				return errors.New("missing colon in object")
			}
			s.ws()
			vstart := s.i
			if err := s.value(); err != nil {
				return err
			}
			if err := fn(key, json.RawMessage(data[vstart:s.i])); err != nil {
				return err
			}
			s.ws()
			if s.eat('}') {
				break
			}
			if !s.eat(',') {
				return errors.New("missing comma in object")
			}
		}
	}
	s.ws()
	if s.i != len(data) {
		return errors.New("trailing data after JSON object")
	}
	return nil
}

// splitArray returns the raw elements of the JSON array v, at most max.
func splitArray(v json.RawMessage, max int) ([]json.RawMessage, error) {
	s := &jscan{b: v}
	s.ws()
	if !s.eat('[') {
		return nil, errors.New("not an array")
	}
	var out []json.RawMessage
	s.ws()
	if !s.eat(']') {
		for {
			if len(out) == max {
				return nil, fmt.Errorf("more than %d elements", max)
			}
			s.ws()
			start := s.i
			if err := s.value(); err != nil {
				return nil, err
			}
			out = append(out, v[start:s.i])
			s.ws()
			if s.eat(']') {
				break
			}
			if !s.eat(',') {
				return nil, errJSONSyntax
			}
		}
	}
	s.ws()
	if s.i != len(v) {
		return nil, errJSONSyntax
	}
	return out, nil
}

func decodeKey(quoted []byte) (string, error) {
	if !bytes.ContainsRune(quoted, '\\') {
		return string(quoted[1 : len(quoted)-1]), nil
	}
	var k string
	err := json.Unmarshal(quoted, &k)
	return k, err
}

// maxJSONDepth bounds nesting in skipped values.
const maxJSONDepth = 64

// jscan validates JSON (RFC 8259) without building values.
type jscan struct {
	b     []byte
	i     int
	depth int
}

func (s *jscan) ws() { s.i = skipSpace(s.b, s.i) }

func (s *jscan) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

var errJSONSyntax = errors.New("invalid JSON")

func (s *jscan) value() error {
	if s.i >= len(s.b) {
		return errJSONSyntax
	}
	switch c := s.b[s.i]; {
	case c == '{' || c == '[':
		return s.container(c)
	case c == '"':
		return s.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	case bytes.HasPrefix(s.b[s.i:], []byte("true")):
		s.i += 4
	case bytes.HasPrefix(s.b[s.i:], []byte("false")):
		s.i += 5
	case bytes.HasPrefix(s.b[s.i:], []byte("null")):
		s.i += 4
	default:
		return errJSONSyntax
	}
	return nil
}

func (s *jscan) container(open byte) error {
	s.depth++
	if s.depth > maxJSONDepth {
		return errors.New("JSON nested too deeply")
	}
	defer func() { s.depth-- }()
	closer := byte(']')
	if open == '{' {
		closer = '}'
	}
	s.i++
	s.ws()
	if s.eat(closer) {
		return nil
	}
	for {
		s.ws()
		if open == '{' {
			if err := s.str(); err != nil {
				return err
			}
			s.ws()
			if !s.eat(':') {
				return errJSONSyntax
			}
			s.ws()
		}
		if err := s.value(); err != nil {
			return err
		}
		s.ws()
		if s.eat(closer) {
			return nil
		}
		if !s.eat(',') {
			return errJSONSyntax
		}
	}
}

func (s *jscan) str() error {
	if !s.eat('"') {
		return errJSONSyntax
	}
	start, ascii := s.i, true
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			// Like serde_json, refuse invalid UTF-8 (encoding/json would
			// silently replace it, merging distinct keys).
			if !ascii && !utf8.Valid(s.b[start:s.i]) {
				return errors.New("invalid UTF-8 in JSON string")
			}
			s.i++
			return nil
		case c >= 0x80:
			ascii = false
			s.i++
		case c < 0x20:
			return errJSONSyntax
		case c == '\\':
			s.i++
			if s.i >= len(s.b) {
				return errJSONSyntax
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if s.i+5 > len(s.b) {
					return errJSONSyntax
				}
				for _, h := range s.b[s.i+1 : s.i+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return errJSONSyntax
					}
				}
				s.i += 5
			default:
				return errJSONSyntax
			}
		default:
			s.i++
		}
	}
	return errJSONSyntax
}

func (s *jscan) digits() int {
	n := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

func (s *jscan) number() error {
	s.eat('-')
	if s.eat('0') {
		// no further integer digits after a leading zero
	} else if s.digits() == 0 {
		return errJSONSyntax
	}
	if s.eat('.') && s.digits() == 0 {
		return errJSONSyntax
	}
	if s.eat('e') || s.eat('E') {
		if !s.eat('+') {
			s.eat('-')
		}
		if s.digits() == 0 {
			return errJSONSyntax
		}
	}
	return nil
}

// parseByteArray parses a JSON array of integers 0..255 (serde's encoding of
// Vec<u8>). The input is a complete JSON value from walkObject or
// json.Unmarshal, so only its shape is checked here.
func parseByteArray(v json.RawMessage) ([]byte, error) {
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '[' {
		return nil, errors.New("not a byte array")
	}
	out := make([]byte, 0, len(v)/3)
	i = skipSpace(v, i+1)
	if i < len(v) && v[i] == ']' {
		return out, checkEnd(v, i+1)
	}
	for {
		start := i
		n := 0
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			n = n*10 + int(v[i]-'0')
			i++
			if n > 255 {
				return nil, errors.New("byte array element out of range")
			}
		}
		if i == start || (v[start] == '0' && i-start > 1) {
			return nil, errors.New("byte array element is not an integer 0..255")
		}
		out = append(out, byte(n))
		i = skipSpace(v, i)
		if i >= len(v) {
			return nil, errors.New("unterminated byte array")
		}
		switch v[i] {
		case ',':
			i = skipSpace(v, i+1)
		case ']':
			return out, checkEnd(v, i+1)
		default:
			return nil, errors.New("byte array element is not an integer 0..255")
		}
	}
}

func skipSpace(v []byte, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r') {
		i++
	}
	return i
}

func checkEnd(v []byte, i int) error {
	if skipSpace(v, i) != len(v) {
		return errors.New("trailing data after byte array")
	}
	return nil
}

func appendByteArray(dst, b []byte) []byte {
	dst = append(dst, '[')
	for i, c := range b {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendUint(dst, uint64(c), 10)
	}
	return append(dst, ']')
}
