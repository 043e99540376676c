package functions

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// countingCtx is a context whose Err reports cancellation from its
// (after+1)-th call on (never, if after < 0), and which counts the calls.
// Built-ins look at their context only through Err, so a run cancelled at
// the k-th look is reproducible: the same look happens at the same point
// of every run.
type countingCtx struct {
	context.Context
	after int64
	calls atomic.Int64
	once  sync.Once
	done  chan struct{}
}

func newCountingCtx(after int64) *countingCtx {
	return &countingCtx{Context: context.Background(), after: after, done: make(chan struct{})}
}

func (c *countingCtx) Err() error {
	if n := c.calls.Add(1); c.after >= 0 && n > c.after {
		c.once.Do(func() { close(c.done) })
		return context.Canceled
	}
	return nil
}

func (c *countingCtx) Done() <-chan struct{} { return c.done }

// bigCase is a built-in with inputs large enough that its loops look at
// the context many times.
type bigCase struct {
	name, args string
	inputs     map[string][]byte
	outputs    []string
}

func bigCases(t testing.TB) []bigCase {
	var b strings.Builder
	lines := func(n int, f func(i int) string) []byte {
		b.Reset()
		for i := range n {
			b.WriteString(f(i))
			b.WriteByte('\n')
		}
		return []byte(b.String())
	}
	num := func(i, j int) string { return fmt.Sprintf("%d.%d", (i*7+j*3)%10, (i*13+j)%97) }
	return []bigCase{
		{NamePasswordCheck, `{}`, map[string][]byte{
			"password":          []byte("password"),
			"exposed_passwords": lines(100000, func(i int) string { return fmt.Sprintf("pw%d", i) }),
		}, nil},
		{NameOrderedSetIntersect, `{"order":"ascending"}`, map[string][]byte{
			"input_data1": lines(50000, func(i int) string { return fmt.Sprintf("%08x", 2*i) }),
			"input_data2": lines(50000, func(i int) string { return fmt.Sprintf("%08x", 3*i) }),
		}, []string{"output_result1", "output_result2"}},
		{NameOrderedSetJoin, `{"left_column":0,"right_column":0,"ascending":true,"drop":true}`, map[string][]byte{
			"input_data1": lines(50000, func(i int) string { return fmt.Sprintf("%08d,a%d", 2*i, i) }),
			"input_data2": lines(50000, func(i int) string { return fmt.Sprintf("%08d,b%d", 3*i, i) }),
		}, []string{"output_result"}},
		{NamePrivateJoinAndCompute, `{"num_user":3}`, map[string][]byte{
			"input_data0": lines(20000, func(i int) string { return fmt.Sprintf("n%d : %d", i, i) }),
			"input_data1": lines(20000, func(i int) string { return fmt.Sprintf("n%d : %d", 2*i, i) }),
			"input_data2": lines(20000, func(i int) string { return fmt.Sprintf("n%d : %d", 3*i, i) }),
		}, []string{"output_data0", "output_data1", "output_data2"}},
		{NameRSASign, `{"data":"test data"}`, map[string][]byte{"rsa_key": readTestdata(t, "rsa_sign/key.der")}, nil},
		{NameOnlineDecrypt, `{"algorithm":"aes256gcm","encrypted_data":"CaZd8qSMMlBp8SjSXj2I4dQIuC9KkZ5DI/ATo1sWJw==","key":"aqUdgZ0lJnuz9yiPkoDxM6ZcTcVVpd4KKLqzbHD88Lg=","nonce":"AAECAwQFBgcICQoL"}`, nil, nil},
		{NameLogisticRegressionTrain, `{"alg_alpha":0.1,"alg_iters":100,"feature_size":5}`, map[string][]byte{
			"training_data": lines(2000, func(i int) string {
				return fmt.Sprintf("%s,%s,%s,%s,%s,%d", num(i, 0), num(i, 1), num(i, 2), num(i, 3), num(i, 4), i%2)
			}),
		}, []string{"model_file"}},
		{NameLogisticRegressionPredict, `{}`, map[string][]byte{
			"model_file": readTestdata(t, "logistic_regression_prediction/model.txt"),
			"data_file": lines(20000, func(i int) string {
				f := make([]string, 30)
				for j := range f {
					f[j] = num(i, j)
				}
				return strings.Join(f, ",")
			}),
		}, []string{"result_file"}},
		{NameGBDTPredict, `{}`, map[string][]byte{
			"model_file": readTestdata(t, "gbdt_prediction/model.txt"),
			"data_file":  lines(20000, func(i int) string { return fmt.Sprintf("%s,%s,%s,%s", num(i, 0), num(i, 1), num(i, 2), num(i, 3)) }),
		}, []string{"result_file"}},
		{NameGBDTTrain, `{"feature_size":4,"max_depth":5,"iterations":10,"shrinkage":0.1,"feature_sample_ratio":1,"data_sample_ratio":1,"min_leaf_size":1,"loss":"SquaredError","training_optimization_level":2}`, map[string][]byte{
			"training_data": lines(5000, func(i int) string {
				return fmt.Sprintf("%s,%s,%s,%s,%d", num(i, 0), num(i, 1), num(i, 2), num(i, 3), i%3)
			}),
		}, []string{"trained_model"}},
		{NamePrincipalComponentsAnalysis, `{"center":true,"feature_size":4,"n":2}`, map[string][]byte{
			"input_data": lines(20000, func(i int) string { return fmt.Sprintf("%s,%s,%s,%s,0", num(i, 0), num(i, 1), num(i, 2), num(i, 3)) }),
		}, []string{"output_data"}},
		{NameFaceDetection, faceDetectionArgs(faceCrop(t), `"score_thresh":2.0`), nil, nil},
	}
}

func (c bigCase) runtime() *fakeRuntime {
	rt := newRuntime(c.outputs...)
	for name, data := range c.inputs {
		rt.input(name, data)
	}
	return rt
}

// TestCancelEveryBuiltin runs each built-in once to count how often it
// looks at its context, then cancels it at the first, the middle and the
// last look: each time it must return ctx.Err() itself (not wrapped, not
// a result).
func TestCancelEveryBuiltin(t *testing.T) {
	cases := bigCases(t)
	if len(cases) != len(All()) {
		t.Fatalf("%d cases for %d built-ins", len(cases), len(All()))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := function(t, c.name)
			full := newCountingCtx(-1)
			if _, err := f.Run(full, []byte(c.args), c.runtime()); err != nil {
				t.Fatalf("uncancelled run: %v", err)
			}
			n := full.calls.Load()
			t.Logf("%d looks at the context", n)
			// Every built-in with data loops looks many times; the two
			// without loops look before their one expensive step.
			if min := int64(3); c.name != NameOnlineDecrypt && c.name != NameRSASign && n < min {
				t.Fatalf("only %d looks at the context", n)
			}
			for _, k := range []int64{0, n / 2, n - 1} {
				ctx := newCountingCtx(k)
				out, err := f.Run(ctx, []byte(c.args), c.runtime())
				if err != context.Canceled {
					t.Fatalf("cancelled at look %d of %d: got %q, %v; want context.Canceled", k+1, n, out, err)
				}
			}
		})
	}
}

// signalRuntime closes opened when a function opens its first input.
type signalRuntime struct {
	*fakeRuntime
	once   sync.Once
	opened chan struct{}
}

func (s *signalRuntime) OpenInput(name string) (io.ReadCloser, error) {
	s.once.Do(func() { close(s.opened) })
	return s.fakeRuntime.OpenInput(name)
}

// TestCancelTrainingFromAnotherGoroutine cancels a real context while
// logistic regression trains with an iteration count it would never
// finish.
func TestCancelTrainingFromAnotherGoroutine(t *testing.T) {
	rt := &signalRuntime{
		fakeRuntime: newRuntime("model_file").inputFile(t, "training_data", "logistic_regression_training/train.txt"),
		opened:      make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-rt.opened
		cancel()
	}()
	_, err := function(t, NameLogisticRegressionTrain).Run(ctx, []byte(`{"alg_alpha":1e-9,"alg_iters":4611686018427387904,"feature_size":30}`), rt)
	if err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if rt.created["model_file"] {
		t.Error("a model was written")
	}
}

// TestSVDReturnsOnCancel checks that a cancelled PCA does not wait for
// gonum's SVD (one call that cannot be interrupted) to finish.
func TestSVDReturnsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rows, cols := 3000, 200
	data := make([]float64, rows*cols)
	for i := range data {
		data[i] = float64(i%97) - float64(i%89)
	}
	if _, err := rightSingularVectors(ctx, rows, cols, data); err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// A panic inside gonum (here: an empty matrix) is an error, not a
	// crash of the node.
	if _, err := rightSingularVectors(context.Background(), 0, 0, nil); err == nil || !strings.Contains(err.Error(), "SVD failed") {
		t.Fatalf("err = %v", err)
	}
}
