package functions

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// repeatReader repeats a pattern for ever: an input no bound check can
// read to its end.
type repeatReader struct {
	pattern string
	off     int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.pattern[r.off]
		r.off = (r.off + 1) % len(r.pattern)
	}
	return len(p), nil
}

func endless(pattern string) func() io.Reader {
	return func() io.Reader { return &repeatReader{pattern: pattern} }
}

// builtinCase is a built-in with small valid files and, for each input, a
// pattern that repeated for ever makes an input too large.
type builtinCase struct {
	name, args string
	inputs     map[string]string // valid content
	endless    map[string]string // pattern of an endless input
	outputs    []string
}

func builtinCases(t testing.TB) []builtinCase {
	key := string(readTestdata(t, "rsa_sign/key.der"))
	gbdt := gbdtModelJSON("0", "LAD", 1)
	return []builtinCase{
		{NamePasswordCheck, `{}`,
			map[string]string{"password": "a\n", "exposed_passwords": "a\nb\n"},
			map[string]string{"password": "a", "exposed_passwords": "b\n"}, nil},
		{NameOrderedSetIntersect, `{"order":"ascending"}`,
			map[string]string{"input_data1": "00\n01", "input_data2": "01"},
			map[string]string{"input_data1": "00\n", "input_data2": "01\n"},
			[]string{"output_result1", "output_result2"}},
		{NameOrderedSetJoin, `{"left_column":0,"right_column":0,"ascending":true,"drop":true}`,
			map[string]string{"input_data1": "1,a\n2,a", "input_data2": "1,b\n2,b"},
			map[string]string{"input_data1": "1,a\n", "input_data2": "1,b\n"},
			[]string{"output_result"}},
		{NamePrivateJoinAndCompute, `{"num_user":2}`,
			map[string]string{"input_data0": "a:1", "input_data1": "a:2"},
			map[string]string{"input_data0": "a:1\n", "input_data1": "b:2\n"},
			[]string{"output_data0", "output_data1"}},
		{NameRSASign, `{"data":"x"}`,
			map[string]string{"rsa_key": key},
			map[string]string{"rsa_key": key}, nil},
		{NameOnlineDecrypt, `{"algorithm":"aes256gcm","encrypted_data":"CaZd8qSMMlBp8SjSXj2I4dQIuC9KkZ5DI/ATo1sWJw==","key":"aqUdgZ0lJnuz9yiPkoDxM6ZcTcVVpd4KKLqzbHD88Lg=","nonce":"AAECAwQFBgcICQoL"}`,
			nil, nil, nil},
		{NameLogisticRegressionTrain, `{"alg_alpha":0.3,"alg_iters":5,"feature_size":2}`,
			map[string]string{"training_data": "1,2,1\n3,4,0\n"},
			map[string]string{"training_data": "1,2,1\n"},
			[]string{"model_file"}},
		{NameLogisticRegressionPredict, `{}`,
			map[string]string{"model_file": `{"alpha":0.3,"iters":1,"parameters":[1,2,3]}`, "data_file": "1,2\n"},
			map[string]string{"model_file": " ", "data_file": "1,2\n"},
			[]string{"result_file"}},
		{NameGBDTPredict, `{}`,
			map[string]string{"model_file": gbdt, "data_file": "0.1\n"},
			map[string]string{"model_file": gbdt, "data_file": "0.1\n"},
			[]string{"result_file"}},
		{NameGBDTTrain, `{"feature_size":1,"max_depth":2,"iterations":2,"shrinkage":0.1,"feature_sample_ratio":1,"data_sample_ratio":1,"min_leaf_size":1,"loss":"LAD","training_optimization_level":2}`,
			map[string]string{"training_data": "1,2\n3,4\n"},
			map[string]string{"training_data": "1,2\n"},
			[]string{"trained_model"}},
		{NamePrincipalComponentsAnalysis, `{"center":true,"feature_size":2,"n":1}`,
			map[string]string{"input_data": "1,2,0\n3,4,0\n5,7,0\n"},
			map[string]string{"input_data": "1,2,0\n"},
			[]string{"output_data"}},
	}
}

func (c builtinCase) runtime() *fakeRuntime {
	rt := newRuntime(c.outputs...)
	for name, data := range c.inputs {
		rt.input(name, []byte(data))
	}
	return rt
}

// TestBuiltinCasesValid makes sure the small files of builtinCases are
// valid, so that the other tests fail for the reason they test, and that
// each built-in logs one INFO line under its Teaclave module name (what a
// save_log task records).
func TestBuiltinCasesValid(t *testing.T) {
	modules := map[string]string{
		NamePasswordCheck:               "password_check",
		NameOrderedSetIntersect:         "ordered_set_intersect",
		NameOrderedSetJoin:              "ordered_set_join",
		NamePrivateJoinAndCompute:       "private_join_and_compute",
		NameRSASign:                     "rsa_sign",
		NameOnlineDecrypt:               "online_decrypt",
		NameLogisticRegressionTrain:     "logistic_regression_train",
		NameLogisticRegressionPredict:   "logistic_regression_predict",
		NameGBDTPredict:                 "gbdt_predict",
		NameGBDTTrain:                   "gbdt_train",
		NamePrincipalComponentsAnalysis: "principal_components_analysis",
	}
	for _, c := range builtinCases(t) {
		rt := c.runtime()
		if _, err := run(t, c.name, c.args, rt); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		log := rt.logText()
		prefix := "[INFO teaclave_function::" + modules[c.name] + "] "
		if !strings.HasPrefix(log, prefix) || strings.Count(log, "\n") != 1 {
			t.Errorf("%s: log = %q, want one line starting %q", c.name, log, prefix)
		}
	}
}

// TestInputTooLarge gives each input of each built-in, in turn, an endless
// stream: the built-in must stop at its bound with ErrTooLarge.
func TestInputTooLarge(t *testing.T) {
	l := Limits{MaxInputBytes: 4096, MaxKeyBytes: 2048}
	fns := map[string]Function{}
	for _, f := range AllWithLimits(l) {
		fns[f.Name] = f
	}
	n := 0
	for _, c := range builtinCases(t) {
		for name, pattern := range c.endless {
			rt := c.runtime().inputReader(name, endless(pattern))
			_, err := fns[c.name].Run(context.Background(), []byte(c.args), rt)
			want := "larger than 4096 bytes"
			if name == "rsa_key" {
				want = "larger than 2048 bytes"
			}
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), name) {
				t.Errorf("%s, endless %s: err = %v", c.name, name, err)
			}
			n++
		}
	}
	if n != 16 {
		t.Fatalf("%d inputs tested, want 16", n)
	}
}

// TestTableTooLarge checks the row × column and count caps.
func TestTableTooLarge(t *testing.T) {
	l := Limits{MaxCells: 10, MaxColumns: 3}
	fns := map[string]Function{}
	for _, f := range AllWithLimits(l) {
		fns[f.Name] = f
	}
	rows := func(line string, n int) []byte { return []byte(strings.Repeat(line, n)) }
	for _, tc := range []struct {
		name, args string
		rt         *fakeRuntime
	}{
		// 4 rows × 3 columns = 12 > 10.
		{NameLogisticRegressionTrain, `{"alg_alpha":0.3,"alg_iters":5,"feature_size":2}`,
			newRuntime("model_file").input("training_data", rows("1,2,1\n", 4))},
		{NamePrincipalComponentsAnalysis, `{"center":true,"feature_size":2,"n":1}`,
			newRuntime("output_data").input("input_data", rows("1,2,0\n", 4))},
		{NameLogisticRegressionPredict, `{}`,
			newRuntime("result_file").input("model_file", []byte(`{"alpha":1,"iters":1,"parameters":[1,2]}`)).input("data_file", rows("1\n", 11))},
		{NameGBDTPredict, `{}`,
			newRuntime("result_file").input("model_file", []byte(gbdtModelJSON("0", "LAD", 1))).input("data_file", rows("1,2,3\n", 4))},
		{NameGBDTPredict, `{}`,
			newRuntime("result_file").inputFile(t, "model_file", "gbdt_prediction/model.txt").input("data_file", []byte("1,2,3,4\n"))},
		{NameOrderedSetIntersect, `{"order":"ascending"}`,
			newRuntime("output_result1", "output_result2").input("input_data1", rows("00\n", 11)).input("input_data2", []byte("00"))},
		{NamePrivateJoinAndCompute, `{"num_user":2}`,
			newRuntime("output_data0", "output_data1").input("input_data0", []byte("a:1\nb:1\nc:1\nd:1\ne:1\nf:1\ng:1\nh:1\ni:1\nj:1\nk:1\n")).input("input_data1", []byte("a:1"))},
		// Columns: refused before any input is opened (none is declared).
		{NameLogisticRegressionTrain, `{"alg_alpha":0.3,"alg_iters":5,"feature_size":4}`, newRuntime()},
		{NamePrincipalComponentsAnalysis, `{"center":true,"feature_size":4,"n":1}`, newRuntime()},
		{NameLogisticRegressionPredict, `{}`,
			newRuntime().input("model_file", []byte(`{"alpha":1,"iters":1,"parameters":[1,2,3,4,5]}`))},
	} {
		_, err := fns[tc.name].Run(context.Background(), []byte(tc.args), tc.rt)
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s %s: err = %v, want ErrTooLarge", tc.name, tc.args, err)
		}
		if errors.Is(err, executor.ErrInvalidInput) {
			t.Errorf("%s: an input was opened before the size check", tc.name)
		}
	}
}
