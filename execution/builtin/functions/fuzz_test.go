package functions

import (
	"context"
	"errors"
	"testing"
)

// The fuzz targets feed arbitrary files to the parsers of the built-ins
// with small limits: whatever the bytes, a built-in returns a result or an
// error, never panics, loops or grows past its limits.

var fuzzLimits = Limits{MaxInputBytes: 1 << 16, MaxCells: 1 << 12, MaxColumns: 64}

func fuzzRun(t *testing.T, name, args string, rt *fakeRuntime) {
	for _, f := range AllWithLimits(fuzzLimits) {
		if f.Name == name {
			if _, err := f.Run(context.Background(), []byte(args), rt); errors.Is(err, context.Canceled) {
				t.Fatal("cancelled without a cancellation")
			}
			return
		}
	}
	t.Fatalf("no built-in %q", name)
}

func FuzzGBDTPredict(f *testing.F) {
	f.Add([]byte(gbdtModelJSON("0", "LAD", 1)), []byte("0.1\n0.9"))
	f.Add([]byte(gbdtModelJSON("-1", "LogLikelyhood", 1)), []byte("-3.4028235e38,1"))
	f.Add([]byte(`{"conf":{"iterations":0,"shrinkage":1,"loss":"LAD","initial_guess_enabled":true},"trees":[],"bias":1}`), []byte("1"))
	f.Fuzz(func(t *testing.T, model, data []byte) {
		fuzzRun(t, NameGBDTPredict, `{}`, newRuntime("result_file").input("model_file", model).input("data_file", data))
	})
}

func FuzzOrderedSetJoin(f *testing.F) {
	f.Add([]byte("1,a\n2,b"), []byte("1,c\n3,d"), uint8(0), uint8(0), true, true)
	f.Add([]byte("\"x,\"\"y\",1\n"), []byte("1,\"\"\n"), uint8(1), uint8(0), false, false)
	f.Fuzz(func(t *testing.T, a, b []byte, left, right uint8, ascending, drop bool) {
		args := `{"left_column":` + itoa(int(left%4)) + `,"right_column":` + itoa(int(right%4)) +
			`,"ascending":` + btoa(ascending) + `,"drop":` + btoa(drop) + `}`
		fuzzRun(t, NameOrderedSetJoin, args, newRuntime("output_result").input("input_data1", a).input("input_data2", b))
	})
}

func FuzzTables(f *testing.F) {
	f.Add([]byte("1,2,1\n3,4,0\n5,7,1\n"), uint8(2))
	f.Add([]byte("1e400,-inf,NaN\n"), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, fs uint8) {
		fsArg := itoa(int(fs % 8))
		fuzzRun(t, NameLogisticRegressionTrain, `{"alg_alpha":0.5,"alg_iters":3,"feature_size":`+fsArg+`}`,
			newRuntime("model_file").input("training_data", data))
		fuzzRun(t, NamePrincipalComponentsAnalysis, `{"center":true,"n":1,"feature_size":`+fsArg+`}`,
			newRuntime("output_data").input("input_data", data))
		fuzzRun(t, NameLogisticRegressionPredict, `{}`,
			newRuntime("result_file").input("model_file", []byte(`{"alpha":1,"iters":1,"parameters":[1,2,3]}`)).input("data_file", data))
		fuzzRun(t, NameOrderedSetIntersect, `{"order":"ascending"}`,
			newRuntime("output_result1", "output_result2").input("input_data1", data).input("input_data2", data))
		fuzzRun(t, NamePrivateJoinAndCompute, `{"num_user":2}`,
			newRuntime("output_data0", "output_data1").input("input_data0", data).input("input_data1", data))
	})
}

func itoa(i int) string { return string(rune('0' + i)) }

func btoa(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
