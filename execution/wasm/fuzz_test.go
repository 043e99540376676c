package wasm

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzFlattenArguments: any bytes give either an error or an even argv
// whose keys are sorted and free of NUL, and never a panic.
func FuzzFlattenArguments(f *testing.F) {
	for _, s := range []string{`{}`, `{"b":1,"a":"x"}`, `{"a":[1, {"b" : null}]}`, `[]`, `"s"`, `{"a":"\u0000"}`, ``, `{"a":1e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		argv, err := flattenArguments(json.RawMessage(raw))
		if err != nil {
			return
		}
		if len(argv)%2 != 0 {
			t.Fatalf("odd argv %q", argv)
		}
		var keys []string
		for i := 0; i < len(argv); i += 2 {
			keys = append(keys, argv[i])
		}
		if !slices.IsSorted(keys) {
			t.Fatalf("keys out of order: %q", keys)
		}
		for _, s := range argv {
			if strings.IndexByte(s, 0) >= 0 {
				t.Fatalf("NUL in %q", s)
			}
		}
	})
}

// FuzzPayload: any bytes as a payload give a result or an error within
// the task's time limit, and never a panic. Seeds are the smallest
// modules: an empty one, and one exporting an entrypoint that returns 7.
func FuzzPayload(f *testing.F) {
	empty := []byte("\x00asm\x01\x00\x00\x00")
	seven := []byte(probeModule)
	f.Add(empty)
	f.Add(seven)
	e, err := New(context.Background(), Config{Engine: EngineInterpreter, MemoryLimitPages: 64, CacheEntries: 4})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close(context.Background()) })
	if got, err := run(context.Background(), e, seven, `{"k":"v"}`, newRuntime(nil)); err != nil || got != "7" {
		f.Fatalf("the seed module gives %q, %v", got, err)
	}
	f.Fuzz(func(t *testing.T, wasm []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, _ = run(ctx, e, wasm, `{"k":"v"}`, newRuntime(map[string]string{"in": "data"}, "out"))
	})
}
