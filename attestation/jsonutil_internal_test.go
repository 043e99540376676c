package attestation

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzWalkObject checks the hand-written scanner against encoding/json: it
// accepts exactly the valid JSON objects without duplicate keys, and hands
// out values equal to what encoding/json decodes.
func FuzzWalkObject(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1}`, `{"a":[1,2,{"b":null}],"c":"\u00e9\n","d":-0.5e+3,"e":true,"f":false}`,
		`{"a":1,"a":2}`, `{"a":01}`, `{"a":"\x01"}`, `[1]`, `{"a":1} {}`, `{"\u0061":1,"a":2}`, `{"a":1,}`,
		`{"report":[1,2],"signature":[],"certs":[[3]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var members []json.RawMessage
		var keys []string
		err := walkObject(data, func(k string, v json.RawMessage) error {
			keys = append(keys, k)
			members = append(members, v)
			return nil
		})
		valid := json.Valid(data) && utf8.Valid(data) && bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("{"))
		if err == nil && !valid {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		if err != nil {
			if valid && !strings.Contains(err.Error(), "duplicate key") {
				t.Fatalf("refused valid JSON %q: %v", data, err)
			}
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		if len(m) != len(keys) {
			t.Fatalf("%d keys, encoding/json sees %d", len(keys), len(m))
		}
		for i, k := range keys {
			if !bytes.Equal(bytes.TrimSpace(m[k]), members[i]) {
				t.Fatalf("key %q: %q, encoding/json %q", k, members[i], m[k])
			}
		}
	})
}

func TestWalkObjectDepth(t *testing.T) {
	deep := `{"a":` + strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1) + `}`
	if err := walkObject([]byte(deep), func(string, json.RawMessage) error { return nil }); err == nil {
		t.Fatal("unbounded nesting accepted")
	}
}
