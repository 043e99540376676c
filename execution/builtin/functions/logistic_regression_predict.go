package functions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// LogisticRegressionPredict is builtin-logistic-regression-predict
// (functions.md §2.2). No arguments. Inputs: model_file, the JSON model
// LogisticRegressionTrain writes, and data_file, lines of exactly
// len(parameters)-1 comma-separated numbers. Output result_file: for each
// row sigmoid(w0 + Σ wᵢxᵢ) (rulinalg's unrolled dot product) with four
// decimals and a newline. Summary: "Predicted {rows} lines of data."
func LogisticRegressionPredict(l Limits) Function {
	l = l.withDefaults()
	return Function{Name: NameLogisticRegressionPredict, Run: func(ctx context.Context, _ json.RawMessage, rt executor.Runtime) ([]byte, error) {
		raw, err := readInput(ctx, rt, "model_file", l.MaxInputBytes)
		if err != nil {
			return nil, err
		}
		w, err := parseLogisticModel(raw, l)
		if err != nil {
			return nil, err
		}
		fs := len(w) - 1

		in, err := openInput(rt, "data_file", l.MaxInputBytes)
		if err != nil {
			return nil, err
		}
		defer in.Close()
		t, _, err := readTable(ctx, in, fs, fs, false, l)
		if err != nil {
			return nil, err
		}

		var out []byte
		row := make([]float64, fs+1)
		row[0] = 1
		every := stride(fs + 1)
		for i := range t.rows {
			if i%every == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			copy(row[1:], t.data[i*fs:(i+1)*fs])
			out = appendFixed(out, sigmoid(dot(row, w)), 4)
			out = append(out, '\n')
		}
		if err := writeOutput(rt, "result_file", out); err != nil {
			return nil, err
		}
		rt.Logger("teaclave_function::logistic_regression_predict").Info(
			fmt.Sprintf("predicted %d rows of %d features", t.rows, fs))
		return fmt.Appendf(nil, "Predicted %d lines of data.", t.rows), nil
	}}
}

// parseLogisticModel returns the parameters of a model written by
// LogisticRegressionTrain (or Teaclave), requiring its three fields as
// serde did.
func parseLogisticModel(raw []byte, l Limits) ([]float64, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, errors.New("invalid model: not a JSON object")
	}
	var (
		alpha float64
		iters uint64
		w     []float64
	)
	for _, f := range []struct {
		key, want string
		dst       any
	}{
		{"alpha", "a number", &alpha},
		{"iters", "a non-negative integer", &iters},
		{"parameters", "an array of numbers", &w},
	} {
		v, ok := m[f.key]
		if !ok {
			return nil, fmt.Errorf("invalid model: missing field %q", f.key)
		}
		if err := json.Unmarshal(v, f.dst); err != nil {
			return nil, fmt.Errorf("invalid model: field %q must be %s", f.key, f.want)
		}
	}
	if w == nil {
		return nil, errors.New("Model parameter is None")
	}
	if len(w) == 0 {
		return nil, errors.New("invalid model: no parameters")
	}
	if len(w)-1 > l.MaxColumns {
		return nil, fmt.Errorf("%w: the model has %d features, over the limit of %d", ErrTooLarge, len(w)-1, l.MaxColumns)
	}
	return w, nil
}
