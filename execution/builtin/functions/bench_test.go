package functions

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
)

// Benchmarks of the heavier built-ins, each a whole run through the fake
// runtime (parsing, computing and formatting). They are quick enough for
// -benchtime=1x.

// synthetic returns rows of cols comma-separated values, with a 0/1 label
// appended when label is set.
func synthetic(rows, cols int, label bool) []byte {
	var b strings.Builder
	for i := range rows {
		for j := range cols {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%.3f", math.Sin(float64(i*cols+j))*5+float64(j))
		}
		if label {
			fmt.Fprintf(&b, ",%d", (i*7)%3%2)
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

func benchRun(b *testing.B, name, args string, mk func() *fakeRuntime) {
	f := function(b, name)
	for b.Loop() {
		if _, err := f.Run(context.Background(), []byte(args), mk()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLogisticRegressionTrain(b *testing.B) {
	b.Run("fixture-100x30-100iters", func(b *testing.B) {
		data := readTestdata(b, "logistic_regression_training/train.txt")
		benchRun(b, NameLogisticRegressionTrain, `{"alg_alpha":0.3,"alg_iters":100,"feature_size":30}`,
			func() *fakeRuntime { return newRuntime("model_file").input("training_data", data) })
	})
	b.Run("10000x30-100iters", func(b *testing.B) {
		data := synthetic(10000, 30, true)
		benchRun(b, NameLogisticRegressionTrain, `{"alg_alpha":0.3,"alg_iters":100,"feature_size":30}`,
			func() *fakeRuntime { return newRuntime("model_file").input("training_data", data) })
	})
}

func BenchmarkPCA(b *testing.B) {
	b.Run("fixture-90x4", func(b *testing.B) {
		data := readTestdata(b, "principal_components_analysis/input.txt")
		benchRun(b, NamePrincipalComponentsAnalysis, `{"center":true,"feature_size":4,"n":2}`,
			func() *fakeRuntime { return newRuntime("output_data").input("input_data", data) })
	})
	b.Run("20000x32-n8", func(b *testing.B) {
		data := synthetic(20000, 32, true)
		benchRun(b, NamePrincipalComponentsAnalysis, `{"center":true,"feature_size":32,"n":8}`,
			func() *fakeRuntime { return newRuntime("output_data").input("input_data", data) })
	})
}

func BenchmarkGBDTPredict(b *testing.B) {
	model := readTestdata(b, "gbdt_prediction/model.txt")
	b.Run("fixture-30rows", func(b *testing.B) {
		data := readTestdata(b, "gbdt_prediction/test_data.txt")
		benchRun(b, NameGBDTPredict, `{}`,
			func() *fakeRuntime {
				return newRuntime("result_file").input("model_file", model).input("data_file", data)
			})
	})
	b.Run("100000rows", func(b *testing.B) {
		data := synthetic(100000, 4, false)
		benchRun(b, NameGBDTPredict, `{}`,
			func() *fakeRuntime {
				return newRuntime("result_file").input("model_file", model).input("data_file", data)
			})
	})
}

// BenchmarkExp compares the correctly rounded exp logistic regression
// needs with math.Exp.
func BenchmarkExp(b *testing.B) {
	xs := make([]float64, 1024)
	for i := range xs {
		xs[i] = math.Sin(float64(i)) * 20
	}
	var sink float64
	b.Run("expRounded", func(b *testing.B) {
		for b.Loop() {
			for _, x := range xs {
				sink += expRounded(x)
			}
		}
	})
	b.Run("math.Exp", func(b *testing.B) {
		for b.Loop() {
			for _, x := range xs {
				sink += math.Exp(x)
			}
		}
	})
	_ = sink
}
