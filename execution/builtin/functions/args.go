package functions

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// arguments is a task's argument object, decoded key by key so that each
// value's JSON type is checked as serde checked it in Teaclave: keys match
// exactly (encoding/json would match struct tags case-insensitively), a
// required value may be neither missing nor null, and a number sent as a
// string is refused. Unknown keys are ignored, as serde ignored them.
type arguments map[string]json.RawMessage

func parseArguments(raw json.RawMessage) (arguments, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fmt.Errorf("%w: the arguments are not a JSON object", ErrArguments)
	}
	return m, nil
}

// value returns the raw value of key, refusing a missing key and null.
func (a arguments) value(key string) (json.RawMessage, error) {
	v, ok := a[key]
	if !ok {
		return nil, fmt.Errorf("%w: missing field %q", ErrArguments, key)
	}
	if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return nil, fmt.Errorf("%w: field %q is null", ErrArguments, key)
	}
	return v, nil
}

func (a arguments) decode(key, want string, dst any) error {
	v, err := a.value(key)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(v, dst); err != nil {
		// The value itself is left out: it may be a key or a password.
		return fmt.Errorf("%w: field %q must be %s", ErrArguments, key, want)
	}
	return nil
}

// String returns a JSON string argument.
func (a arguments) String(key string) (string, error) {
	var s string
	err := a.decode(key, "a string", &s)
	return s, err
}

// Uint returns a JSON number argument that is a non-negative integer
// (serde's usize): 4.0, 1e3, -1 and "4" are refused.
func (a arguments) Uint(key string) (uint64, error) {
	var u uint64
	err := a.decode(key, "a non-negative integer", &u)
	return u, err
}

// Float returns a JSON number argument (serde's f64, which also takes
// integers).
func (a arguments) Float(key string) (float64, error) {
	var f float64
	err := a.decode(key, "a number", &f)
	return f, err
}

// Bool returns a JSON boolean argument.
func (a arguments) Bool(key string) (bool, error) {
	var b bool
	err := a.decode(key, "a boolean", &b)
	return b, err
}
