package starlark

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// flattenArguments turns a task's argument object into Teaclave's argv:
// k1, v1, k2, v2, ... in byte-wise key order (serde_json's BTreeMap
// order), string values raw and every other value as compact JSON text
// (functions.md §0.2).
func flattenArguments(raw json.RawMessage) ([]string, error) {
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
		v := bytes.TrimSpace(m[k])
		if len(v) > 0 && v[0] == '"' {
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, fmt.Errorf("argument %q is not a valid JSON string", k)
			}
			argv = append(argv, k, s)
			continue
		}
		var b bytes.Buffer
		if err := json.Compact(&b, v); err != nil {
			return nil, fmt.Errorf("argument %q is not valid JSON", k)
		}
		argv = append(argv, k, b.String())
	}
	return argv, nil
}
