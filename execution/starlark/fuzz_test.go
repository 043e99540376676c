package starlark

import (
	"context"
	"testing"
	"time"
)

// FuzzPayload: any source gives a result or an error within the task's
// limits, and never a panic.
func FuzzPayload(f *testing.F) {
	for _, name := range []string{"echo.star", "data_fusion.star", "word_count.star", "optional_files.star", "dead_loop.star", "sieve.star"} {
		f.Add(readTestdata(f, name), `{"message":"m","query":"q","n":100}`)
	}
	f.Add("def entrypoint(argv):\n    return teaclave_open(argv[0], 'rb').read(3)\n", `{"in":1}`)
	e := newExecutor(f, Config{MaxSteps: 1_000_000, HeapBudget: 256 << 20})
	f.Fuzz(func(t *testing.T, src, args string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rt := newRuntime(map[string]string{"in": "a\nb\n", "InPartyA": "x\n", "InPartyB": "y", "InputData": "q\n"}, "out", "OutFusionData")
		res, err := e.Execute(ctx, task(src, args, rt), rt)
		if err == nil && len(res.ReturnValue) > MaxResult {
			t.Fatalf("a result of %d bytes", len(res.ReturnValue))
		}
	})
}
