package functions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// gbdtFixtureArgs are the arguments of Teaclave's test_gbdt_train.
const gbdtFixtureArgs = `{"feature_size":4,"max_depth":4,"iterations":100,"shrinkage":0.1,` +
	`"feature_sample_ratio":1.0,"data_sample_ratio":1.0,"min_leaf_size":1,"loss":"LAD",` +
	`"training_optimization_level":2}`

// gbdtArgs returns gbdtFixtureArgs with some keys replaced (a value of ""
// removes the key).
func gbdtArgs(replace map[string]string) string {
	keys := []string{"feature_size", "max_depth", "iterations", "shrinkage", "feature_sample_ratio",
		"data_sample_ratio", "min_leaf_size", "loss", "training_optimization_level"}
	vals := map[string]string{
		"feature_size": "4", "max_depth": "4", "iterations": "100", "shrinkage": "0.1",
		"feature_sample_ratio": "1.0", "data_sample_ratio": "1.0", "min_leaf_size": "1",
		"loss": `"LAD"`, "training_optimization_level": "2",
	}
	for k, v := range replace {
		vals[k] = v
	}
	var parts []string
	for _, k := range keys {
		if v := vals[k]; v != "" {
			parts = append(parts, strconv.Quote(k)+":"+v)
		}
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func trainGBDT(t testing.TB, args string, data []byte) ([]byte, []byte, error) {
	t.Helper()
	rt := newRuntime("trained_model").input("training_data", data)
	got, err := run(t, NameGBDTTrain, args, rt)
	if err != nil {
		return got, nil, err
	}
	return got, rt.output(t, "trained_model"), nil
}

// TestGBDTTrainGolden trains on Teaclave's fixture with Teaclave's test
// arguments: the model must be byte-identical to expected_model.txt.
func TestGBDTTrainGolden(t *testing.T) {
	rt := newRuntime("trained_model").inputFile(t, "training_data", "gbdt_training/train.txt")
	got, err := run(t, NameGBDTTrain, gbdtFixtureArgs, rt)
	if err != nil || string(got) != "Trained 120 lines of data." {
		t.Fatalf("got %q, %v; want Trained 120 lines of data.", got, err)
	}
	model := rt.output(t, "trained_model")
	want := readTestdata(t, "gbdt_training/expected_model.txt")
	if !bytes.Equal(model, want) {
		i := 0
		for i < len(model) && i < len(want) && model[i] == want[i] {
			i++
		}
		lo := max(0, i-200)
		t.Fatalf("model differs from byte %d (len %d, want %d):\n got …%s\nwant …%s", i, len(model), len(want),
			model[lo:min(len(model), i+100)], want[lo:min(len(want), i+100)])
	}
	if want := "[INFO teaclave_function::gbdt_train] trained 100 trees on 120 rows of 4 features\n"; rt.logText() != want {
		t.Errorf("log = %q, want %q", rt.logText(), want)
	}
}

// TestGBDTTrainThenPredict predicts Teaclave's prediction fixture with the
// model trained here: the results must be Teaclave's.
func TestGBDTTrainThenPredict(t *testing.T) {
	_, model, err := trainGBDT(t, gbdtFixtureArgs, readTestdata(t, "gbdt_training/train.txt"))
	if err != nil {
		t.Fatal(err)
	}
	rt := newRuntime("result_file").input("model_file", model).inputFile(t, "data_file", "gbdt_prediction/test_data.txt")
	got, err := run(t, NameGBDTPredict, `{}`, rt)
	if err != nil || string(got) != "Predict result has 30 lines of data." {
		t.Fatalf("got %q, %v", got, err)
	}
	gotLines := strings.Split(strings.TrimSuffix(string(rt.output(t, "result_file")), "\n"), "\n")
	wantLines := strings.Split(strings.TrimSuffix(string(readTestdata(t, "gbdt_prediction/expected_result.txt")), "\n"), "\n")
	if len(gotLines) != len(wantLines) {
		t.Fatalf("%d predictions, want %d", len(gotLines), len(wantLines))
	}
	for i := range wantLines {
		g, err1 := strconv.ParseFloat(gotLines[i], 32)
		w, err2 := strconv.ParseFloat(wantLines[i], 32)
		if err1 != nil || err2 != nil || math.Abs(g-w) > 1e-6*math.Max(1, math.Abs(w)) {
			t.Errorf("line %d: %q, want %q", i+1, gotLines[i], wantLines[i])
		}
	}
}

// TestGBDTTrainSmall checks a tree small enough to work out by hand:
// SquaredError, bias the mean label 2, targets -1 -1 1 1, one split at
// 2.5 between the second and third values.
func TestGBDTTrainSmall(t *testing.T) {
	args := `{"feature_size":1,"max_depth":1,"iterations":1,"shrinkage":1,"feature_sample_ratio":1,` +
		`"data_sample_ratio":1,"min_leaf_size":1,"loss":"SquaredError","training_optimization_level":0}`
	got, model, err := trainGBDT(t, args, []byte("4,3\n1,1\n3,3\n2,1\n"))
	if err != nil || string(got) != "Trained 4 lines of data." {
		t.Fatalf("got %q, %v", got, err)
	}
	want := `{"conf":{"feature_size":1,"max_depth":1,"iterations":1,"shrinkage":1.0,"feature_sample_ratio":1.0,` +
		`"data_sample_ratio":1.0,"min_leaf_size":1,"loss":"SquaredError","debug":false,"initial_guess_enabled":false,` +
		`"training_optimization_level":0},"trees":[{"tree":{"tree":[` +
		`{"value":{"feature_index":0,"feature_value":2.5,"pred":0.0,"missing":0,"is_leaf":false},"index":0,"left":1,"right":2},` +
		`{"value":{"feature_index":0,"feature_value":0.0,"pred":-1.0,"missing":0,"is_leaf":true},"index":1,"left":0,"right":0},` +
		`{"value":{"feature_index":0,"feature_value":0.0,"pred":1.0,"missing":0,"is_leaf":true},"index":2,"left":0,"right":0}` +
		`]},"feature_size":1,"max_depth":1,"min_leaf_size":1,"loss":"SquaredError","feature_sample_ratio":1.0}],"bias":2.0}`
	if string(model) != want {
		t.Fatalf("model\n %s\nwant\n %s", model, want)
	}

	// No iteration: no tree, only the bias. For LAD that is gbdt-rs's
	// weighted median of the labels 1 1 3 3 7, which averages the label
	// that passes half the weight with the one before it: (1+3)/2.
	args = strings.Replace(strings.Replace(args, `"iterations":1`, `"iterations":0`, 1), `"SquaredError"`, `"LAD"`, 1)
	_, model, err = trainGBDT(t, args, []byte("4,3\n1,1\n3,3\n2,1\n5,7\n"))
	if err != nil || !bytes.HasSuffix(model, []byte(`"trees":[],"bias":2.0}`)) {
		t.Fatalf("no iteration: %s, %v", model, err)
	}
	p := gbdtPredictRows(t, model, []string{"1", "9"})
	if len(p) != 2 || p[0] != 2 || p[1] != 2 {
		t.Fatalf("no iteration: predictions %v", p)
	}
}

// gbdtPredictRows predicts rows (features only) with model.
func gbdtPredictRows(t *testing.T, model []byte, rows []string) []float64 {
	t.Helper()
	rt := newRuntime("result_file").input("model_file", model).input("data_file", []byte(strings.Join(rows, "\n")))
	if _, err := run(t, NameGBDTPredict, `{}`, rt); err != nil {
		t.Fatal(err)
	}
	var out []float64
	for _, l := range strings.Fields(string(rt.output(t, "result_file"))) {
		v, err := strconv.ParseFloat(l, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// fixtureRows returns the fixture's feature rows and labels.
func fixtureRows(t *testing.T) ([]string, []float64) {
	var rows []string
	var labels []float64
	for _, l := range strings.Fields(string(readTestdata(t, "gbdt_training/train.txt"))) {
		i := strings.LastIndexByte(l, ',')
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err != nil {
			t.Fatal(err)
		}
		rows, labels = append(rows, l[:i]), append(labels, v)
	}
	return rows, labels
}

// TestGBDTTrainLosses trains each loss on the fixture and checks that the
// model fits the training data and names its loss as gbdt-rs's serde did.
func TestGBDTTrainLosses(t *testing.T) {
	rows, labels := fixtureRows(t)
	for _, tc := range []struct {
		loss, name string
		warn       bool
	}{
		{"SquaredError", "SquaredError", false},
		{"LAD", "LAD", false},
		{"reg:linear", "RegLinear", false},
		{"Huber", "SquaredError", true}, // unknown: SquaredError, as in gbdt-rs
	} {
		rt := newRuntime("trained_model").inputFile(t, "training_data", "gbdt_training/train.txt")
		if _, err := run(t, NameGBDTTrain, gbdtArgs(map[string]string{"loss": strconv.Quote(tc.loss)}), rt); err != nil {
			t.Fatalf("%s: %v", tc.loss, err)
		}
		model := rt.output(t, "trained_model")
		if !bytes.Contains(model, []byte(`"loss":"`+tc.name+`"`)) {
			t.Errorf("%s: the model does not name loss %s", tc.loss, tc.name)
		}
		if warned := strings.Contains(rt.logText(), "[WARN teaclave_function::gbdt_train] unsupported loss"); warned != tc.warn {
			t.Errorf("%s: log = %q", tc.loss, rt.logText())
		}
		var mae float64
		for i, p := range gbdtPredictRows(t, model, rows) {
			mae += math.Abs(p-labels[i]) / float64(len(rows))
		}
		if mae > 0.05 {
			t.Errorf("%s: training MAE %.4f", tc.loss, mae)
		}
	}

	// LogLikelyhood classifies labels ±1: class 1 of the fixture against
	// the others.
	var b strings.Builder
	for i, r := range rows {
		y := -1
		if labels[i] == 1 {
			y = 1
		}
		fmt.Fprintf(&b, "%s,%d\n", r, y)
	}
	_, model, err := trainGBDT(t, gbdtArgs(map[string]string{"loss": `"LogLikelyhood"`, "iterations": "20"}), []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range gbdtPredictRows(t, model, rows) {
		if (p > 0.5) != (labels[i] == 1) || p < 0 || p > 1 {
			t.Errorf("LogLikelyhood row %d: p = %v, label %v", i+1, p, labels[i])
		}
	}
}

// TestGBDTTrainDeterminism checks that with both ratios 1 the model does
// not depend on the run or on training_optimization_level (3 and more
// written as 2), and that sampling trains valid models.
func TestGBDTTrainDeterminism(t *testing.T) {
	data := readTestdata(t, "gbdt_training/train.txt")
	want := readTestdata(t, "gbdt_training/expected_model.txt")
	for _, level := range []string{"0", "1", "2", "3", "255"} {
		_, model, err := trainGBDT(t, gbdtArgs(map[string]string{"training_optimization_level": level}), data)
		if err != nil {
			t.Fatal(err)
		}
		written := level
		if level > "2" {
			written = "2"
		}
		model = bytes.Replace(model, []byte(`"training_optimization_level":`+written+`}`), []byte(`"training_optimization_level":2}`), 1)
		if !bytes.Equal(model, want) {
			t.Errorf("level %s: a different model", level)
		}
	}

	rows, labels := fixtureRows(t)
	for _, ratios := range []map[string]string{
		{"data_sample_ratio": "0.5"},
		{"feature_sample_ratio": "0.5"},
		{"data_sample_ratio": "0.7", "feature_sample_ratio": "0.75", "loss": `"SquaredError"`},
	} {
		_, model, err := trainGBDT(t, gbdtArgs(ratios), data)
		if err != nil {
			t.Fatalf("%v: %v", ratios, err)
		}
		m, err := parseGBDT(model, DefaultLimits())
		if err != nil || len(m.trees) != 100 {
			t.Fatalf("%v: %v", ratios, err)
		}
		var mae float64
		for i, p := range gbdtPredictRows(t, model, rows) {
			mae += math.Abs(p-labels[i]) / float64(len(rows))
		}
		if mae > 0.2 {
			t.Errorf("%v: training MAE %.4f", ratios, mae)
		}
	}
}

// TestGBDTTrainMissingValues trains with missing features (f32::MIN):
// they take no part in the split search, and the samples missing the
// split feature go to neither child.
func TestGBDTTrainMissingValues(t *testing.T) {
	const missing = "-3.4028235e38"
	args := `{"feature_size":2,"max_depth":2,"iterations":3,"shrinkage":0.5,"feature_sample_ratio":1,` +
		`"data_sample_ratio":1,"min_leaf_size":1,"loss":"SquaredError","training_optimization_level":2}`
	data := "1,5,1\n2," + missing + ",1\n3,6,4\n4,7,4\n" + missing + "," + missing + ",9\n"
	_, model, err := trainGBDT(t, args, []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseGBDT(model, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	root := m.trees[0][0]
	if root.leaf || root.featureIndex != 0 || root.featureValue != 2.5 {
		t.Fatalf("root = %+v, want a split of feature 0 at 2.5", root)
	}
	// The missing row still predicts: the root's own value.
	p := gbdtPredictRows(t, model, []string{missing + "," + missing, "1,5"})
	if len(p) != 2 || math.IsNaN(p[0]) || p[1] >= p[0] {
		t.Fatalf("predictions %v", p)
	}
}

func TestGBDTTrainArguments(t *testing.T) {
	for _, tc := range []struct{ key, value string }{
		{"feature_size", ""}, {"max_depth", ""}, {"iterations", ""}, {"shrinkage", ""},
		{"feature_sample_ratio", ""}, {"data_sample_ratio", ""}, {"min_leaf_size", ""},
		{"loss", ""}, {"training_optimization_level", ""},
		{"feature_size", `"4"`}, {"feature_size", "4.5"}, {"feature_size", "-1"}, {"feature_size", "null"},
		{"max_depth", "4294967296"}, {"max_depth", `"4"`},
		{"iterations", "1e2"}, {"min_leaf_size", "true"},
		{"training_optimization_level", "256"}, {"training_optimization_level", "-2"},
		{"shrinkage", `"0.1"`}, {"shrinkage", "1e39"},
		{"feature_sample_ratio", "0"}, {"feature_sample_ratio", "1.5"}, {"feature_sample_ratio", "-0.5"},
		{"data_sample_ratio", "0"}, {"data_sample_ratio", "2"}, {"data_sample_ratio", `"1"`},
		{"loss", "5"}, {"loss", `["LAD"]`},
	} {
		args := gbdtArgs(map[string]string{tc.key: tc.value})
		rt := newRuntime("trained_model").inputFile(t, "training_data", "gbdt_training/train.txt")
		_, err := run(t, NameGBDTTrain, args, rt)
		if !errors.Is(err, ErrArguments) || !strings.HasPrefix(err.Error(), "Cannot deserialize arguments") ||
			!strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s = %s: err = %v", tc.key, tc.value, err)
		}
		if rt.created["trained_model"] {
			t.Errorf("%s = %s: a model was written", tc.key, tc.value)
		}
	}
	if _, err := run(t, NameGBDTTrain, `[1]`, newRuntime()); !errors.Is(err, ErrArguments) {
		t.Errorf("not an object: %v", err)
	}
}

func TestGBDTTrainInputErrors(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{"1,2,3,4,5\n\n1,2,3,4,5\n", "Empty line"},
		{"1,2,3,4,5\n  \n", "Empty line"},
		{"1,2,3,4\n", "Data format error: column len = 4, expected = 5"},
		{"1,2,3,4,5,6\n", "Data format error: column len = 6, expected = 5"},
		{"1,2,x,4,5\n", "invalid float literal"},
		{"1, 2,3,4,5\n", "invalid float literal"}, // fields are not trimmed
		{"1,2,,4,5\n", "cannot parse float from empty string"},
		{"1,2,NaN,4,5\n", "NaN"},
		{"1,2,3,4,nan\n", "NaN"},
		{"", "training_data has no rows"},
		// A split between 4 and inf is at inf, which JSON cannot hold.
		{"1,2,3,4,1\n1,2,3,inf,9\n", "not finite"},
	} {
		_, _, err := trainGBDT(t, gbdtFixtureArgs, []byte(tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.data, err, tc.want)
		}
	}
	// LogLikelyhood's bias is NaN for labels outside [-1, 1].
	got, _, err := trainGBDT(t, gbdtArgs(map[string]string{"loss": `"LogLikelyhood"`}), []byte("1,2,3,4,2\n1,2,3,5,3\n"))
	if err == nil || !strings.Contains(err.Error(), "not finite") {
		t.Errorf("LogLikelyhood with labels 2 and 3: err = %v", err)
	}
	// Lines are trimmed, \r\n is a line end, and a final line needs no
	// newline.
	got, _, err = trainGBDT(t, gbdtFixtureArgs, []byte(" 1,2,3,4,5 \r\n2,3,4,5,6\t\n3,4,5,-inf,6"))
	if err != nil || string(got) != "Trained 3 lines of data." {
		t.Errorf("got %q, %v", got, err)
	}
	if _, err := run(t, NameGBDTTrain, gbdtFixtureArgs, newRuntime("trained_model")); !errors.Is(err, executor.ErrInvalidInput) {
		t.Errorf("no training_data: %v", err)
	}
	if _, err := run(t, NameGBDTTrain, gbdtFixtureArgs, newRuntime().inputFile(t, "training_data", "gbdt_training/train.txt")); !errors.Is(err, executor.ErrInvalidOutput) {
		t.Errorf("no trained_model: %v", err)
	}
}

func TestGBDTTrainLimits(t *testing.T) {
	train := func(l Limits, args string, rt *fakeRuntime) error {
		for _, f := range AllWithLimits(l) {
			if f.Name == NameGBDTTrain {
				_, err := f.Run(context.Background(), []byte(args), rt)
				return err
			}
		}
		t.Fatal("no builtin-gbdt-train")
		return nil
	}
	fixture := readTestdata(t, "gbdt_training/train.txt")
	for _, tc := range []struct {
		what string
		l    Limits
		args string
		rt   *fakeRuntime
	}{
		// Refused before the input is opened (none is declared).
		{"columns", Limits{MaxColumns: 3}, gbdtFixtureArgs, newRuntime()},
		{"iterations", Limits{MaxCells: 99}, gbdtFixtureArgs, newRuntime()},
		// 120 rows × 5 columns.
		{"cells", Limits{MaxCells: 599}, gbdtFixtureArgs, newRuntime("trained_model").input("training_data", fixture)},
		// 600 cells fit, but 100 trees of several nodes do not.
		{"nodes", Limits{MaxCells: 600}, gbdtFixtureArgs, newRuntime("trained_model").input("training_data", fixture)},
		{"bytes", Limits{MaxInputBytes: 2399}, gbdtFixtureArgs, newRuntime("trained_model").input("training_data", fixture)},
	} {
		err := train(tc.l, tc.args, tc.rt)
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: err = %v, want ErrTooLarge", tc.what, err)
		}
		if tc.rt.created["trained_model"] {
			t.Errorf("%s: a model was written", tc.what)
		}
	}
	// The exact sizes pass.
	if err := train(Limits{MaxInputBytes: 2400, MaxColumns: 4, MaxCells: 1 << 20}, gbdtFixtureArgs,
		newRuntime("trained_model").input("training_data", fixture)); err != nil {
		t.Errorf("at the limits: %v", err)
	}
}

// TestGBDTTrainCancel cancels a real context while training runs an
// iteration count it would not finish for minutes.
func TestGBDTTrainCancel(t *testing.T) {
	rt := &signalRuntime{
		fakeRuntime: newRuntime("trained_model").inputFile(t, "training_data", "gbdt_training/train.txt"),
		opened:      make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-rt.opened
		cancel()
	}()
	args := gbdtArgs(map[string]string{"iterations": "4000000", "max_depth": "1"})
	if _, err := function(t, NameGBDTTrain).Run(ctx, []byte(args), rt); err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if rt.created["trained_model"] {
		t.Error("a model was written")
	}
}

// FuzzGBDTTrain trains on arbitrary data with small settings: an error or
// a model builtin-gbdt-predict reads, never a panic.
func FuzzGBDTTrain(f *testing.F) {
	f.Add([]byte("1,2,1\n3,4,0\n5,7,1\n"), uint8(2), uint8(3), uint8(0))
	f.Add([]byte("-3.4028235e38,1,2\n1,-3.4028235e38,2\n1e400,-inf,3\n0,0,0\n"), uint8(2), uint8(2), uint8(1))
	f.Add([]byte("1\n1\n2\n"), uint8(0), uint8(1), uint8(2))
	losses := []string{"LAD", "SquaredError", "LogLikelyhood", "other"}
	f.Fuzz(func(t *testing.T, data []byte, fs, depth, loss uint8) {
		args := fmt.Sprintf(`{"feature_size":%d,"max_depth":%d,"iterations":3,"shrinkage":0.5,"feature_sample_ratio":1,`+
			`"data_sample_ratio":1,"min_leaf_size":%d,"loss":%q,"training_optimization_level":%d}`,
			fs%4, depth%5, depth%3, losses[loss%4], loss)
		rt := newRuntime("trained_model").input("training_data", data)
		fuzzRun(t, NameGBDTTrain, args, rt)
		if !rt.created["trained_model"] {
			return
		}
		if _, err := parseGBDT(rt.output(t, "trained_model"), fuzzLimits); err != nil {
			t.Fatalf("the trained model does not parse: %v", err)
		}
	})
}

func BenchmarkGBDTTrain(b *testing.B) {
	b.Run("fixture-120x4-100iters-LAD", func(b *testing.B) {
		data := readTestdata(b, "gbdt_training/train.txt")
		benchRun(b, NameGBDTTrain, gbdtFixtureArgs,
			func() *fakeRuntime { return newRuntime("trained_model").input("training_data", data) })
	})
	b.Run("10000x10-20iters-depth6-SquaredError", func(b *testing.B) {
		data := synthetic(10000, 10, true)
		args := `{"feature_size":10,"max_depth":6,"iterations":20,"shrinkage":0.1,"feature_sample_ratio":1,` +
			`"data_sample_ratio":1,"min_leaf_size":1,"loss":"SquaredError","training_optimization_level":2}`
		benchRun(b, NameGBDTTrain, args,
			func() *fakeRuntime { return newRuntime("trained_model").input("training_data", data) })
	})
}
