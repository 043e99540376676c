package executor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Argv turns a task's argument object into the argv form payload
// executors receive (protocol §4.6): k1, v1, k2, v2, ... in byte-wise key
// order, string values raw and every other value as compact JSON text.
// Empty arguments give an empty argv.
func Argv(raw json.RawMessage) ([]string, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, errors.New("the function arguments are not a JSON object")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	argv := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		v, err := argumentText(m[k])
		if err != nil {
			return nil, fmt.Errorf("argument %q: %w", k, err)
		}
		argv = append(argv, k, v)
	}
	return argv, nil
}

// argumentText is the argv form of one JSON value.
func argumentText(v json.RawMessage) (string, error) {
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '"' {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", errors.New("not a valid JSON string")
		}
		return s, nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return "", errors.New("not valid JSON")
	}
	return b.String(), nil
}
