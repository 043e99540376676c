package functions

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// learningEps is rusty-machine's early-stopping threshold (LEARNING_EPS):
// training stops when the cost no longer changes by that much.
const learningEps = 1e-20

// LogisticRegressionTrain is builtin-logistic-regression-train
// (functions.md §2.2). Arguments: alg_alpha (number, > 0), alg_iters and
// feature_size (non-negative integers). Input training_data: lines of
// feature_size+1 comma-separated numbers, the last one the label (0 or 1).
// It trains rusty-machine's logistic regressor by batch gradient descent
// with the same floating-point operations in the same order, so the model
// written to model_file, {"alpha":…,"iters":…,"parameters":[…]} with the
// intercept first, is byte-identical to Teaclave's. Summary:
// "Trained {rows} lines of data."
func LogisticRegressionTrain(l Limits) Function {
	l = l.withDefaults()
	return Function{Name: NameLogisticRegressionTrain, Run: func(ctx context.Context, raw json.RawMessage, rt executor.Runtime) ([]byte, error) {
		a, err := parseArguments(raw)
		if err != nil {
			return nil, err
		}
		alpha, err := a.Float("alg_alpha")
		if err != nil {
			return nil, err
		}
		iters, err := a.Uint("alg_iters")
		if err != nil {
			return nil, err
		}
		features, err := a.Uint("feature_size")
		if err != nil {
			return nil, err
		}
		// rusty-machine asserted this (a panic in Teaclave).
		if !(alpha > 0) {
			return nil, fmt.Errorf("%w: alg_alpha must be greater than 0", ErrArguments)
		}
		if features > uint64(l.MaxColumns) {
			return nil, fmt.Errorf("%w: feature_size %d exceeds the limit of %d", ErrTooLarge, features, l.MaxColumns)
		}
		fs := int(features)

		in, err := openInput(rt, "training_data", l.MaxInputBytes)
		if err != nil {
			return nil, err
		}
		defer in.Close()
		x, y, err := readDesignMatrix(ctx, in, fs, l)
		if err != nil {
			return nil, err
		}
		if x.rows == 0 {
			// Teaclave trained on nothing and wrote NaN parameters (null).
			return nil, fmt.Errorf("training_data has no rows")
		}
		w, err := trainLogistic(ctx, x, y, alpha, iters)
		if err != nil {
			return nil, err
		}

		model := []byte(`{"alpha":`)
		model = appendJSONFloat(model, alpha)
		model = append(model, `,"iters":`...)
		model = strconv.AppendUint(model, iters, 10)
		model = append(model, `,"parameters":[`...)
		for i, p := range w {
			if i > 0 {
				model = append(model, ',')
			}
			model = appendJSONFloat(model, p)
		}
		model = append(model, "]}"...)
		if err := writeOutput(rt, "model_file", model); err != nil {
			return nil, err
		}
		rt.Logger("teaclave_function::logistic_regression_train").Info(
			fmt.Sprintf("trained on %d rows of %d features", x.rows, fs))
		return fmt.Appendf(nil, "Trained %d lines of data.", x.rows), nil
	}}
}

// readDesignMatrix reads lines of fs features and a label into X with a
// leading column of ones (rusty-machine's ones.hcat(inputs)) and y.
func readDesignMatrix(ctx context.Context, in input, fs int, l Limits) (table, []float64, error) {
	t, y, err := readTable(ctx, in, fs+1, fs, true, l)
	if err != nil {
		return table{}, nil, err
	}
	x := table{rows: t.rows, cols: fs + 1, data: make([]float64, t.rows*(fs+1))}
	for i := range t.rows {
		x.data[i*x.cols] = 1
		copy(x.data[i*x.cols+1:(i+1)*x.cols], t.data[i*fs:(i+1)*fs])
	}
	return x, y, nil
}

// trainLogistic is rusty-machine's GradientDesc::optimize over
// BaseLogisticRegressor::compute_grad, starting from 0.5 everywhere.
func trainLogistic(ctx context.Context, x table, y []float64, alpha float64, iters uint64) ([]float64, error) {
	n, d := x.rows, x.cols
	// X is transposed once; rulinalg transposed it in every iteration, to
	// the same values.
	xt := make([]float64, n*d)
	for i := range n {
		for j := range d {
			xt[j*n+i] = x.data[i*d+j]
		}
	}
	w := make([]float64, d)
	for j := range w {
		w[j] = 0.5
	}
	out := make([]float64, n)
	diff := make([]float64, n)
	terms := make([]float64, n)
	prevCost := 0.0
	rowStride, colStride := stride(d), stride(n)
	for range iters {
		for i := range n {
			if i%rowStride == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			out[i] = sigmoid(dot(x.data[i*d:(i+1)*d], w))
		}
		// CrossEntropyError::cost, term by term as rulinalg computed it.
		for i := range n {
			terms[i] = float64(y[i]*math.Log(out[i])) + float64((-y[i]+1)*math.Log(-out[i]+1))
		}
		cost := -unrolledSum(terms) / float64(n)
		if math.Abs(prevCost-cost) < learningEps {
			break
		}
		for i := range n {
			diff[i] = out[i] - y[i]
		}
		for j := range d {
			if j%colStride == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			g := dot(xt[j*n:(j+1)*n], diff) / float64(n)
			w[j] = w[j] - float64(g*alpha)
		}
		prevCost = cost
	}
	return w, ctx.Err()
}
