package functions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// PrincipalComponentsAnalysis is builtin_principal_components_analysis
// (functions.md §2.2; an underscore name). Arguments: n and feature_size
// (non-negative integers) and center (a boolean). Input input_data: lines
// of feature_size+1 comma-separated numbers, the last one ignored. It fits
// rusty-machine's PCA (centre the columns if center is set, take V of the
// SVD, keep its first n columns) and applies it to the same data. Output
// output_data: one row per line, values in Rust's Debug float format
// joined by ",". Summary: "transform {R} rows * {C} cols lines of data."
//
// The SVD is gonum's (LAPACK's Golub–Kahan–Reinsch, as rulinalg's was),
// not a port of rulinalg's: on Teaclave's fixture it agrees to 1.4e-15
// with the same signs, but not to the last bit. Data with more columns
// than rows is refused: rusty-machine transposed V there and then failed
// (or returned a differently shaped result) for any n below the column
// count.
func PrincipalComponentsAnalysis(l Limits) Function {
	l = l.withDefaults()
	return Function{Name: NamePrincipalComponentsAnalysis, Run: func(ctx context.Context, raw json.RawMessage, rt executor.Runtime) ([]byte, error) {
		a, err := parseArguments(raw)
		if err != nil {
			return nil, err
		}
		n, err := a.Uint("n")
		if err != nil {
			return nil, err
		}
		center, err := a.Bool("center")
		if err != nil {
			return nil, err
		}
		features, err := a.Uint("feature_size")
		if err != nil {
			return nil, err
		}
		if features > uint64(l.MaxColumns) {
			return nil, fmt.Errorf("%w: feature_size %d exceeds the limit of %d", ErrTooLarge, features, l.MaxColumns)
		}
		fs := int(features)

		in, err := openInput(rt, "input_data", l.MaxInputBytes)
		if err != nil {
			return nil, err
		}
		defer in.Close()
		t, _, err := readTable(ctx, in, fs+1, fs, false, l)
		if err != nil {
			return nil, err
		}
		if n > uint64(fs) {
			return nil, errors.New("Input data must have equal or larger number of columns than n")
		}
		if fs == 0 || t.rows == 0 {
			return nil, errors.New("input_data has no values")
		}
		if fs > t.rows {
			return nil, fmt.Errorf("input_data has %d rows, fewer than its %d columns", t.rows, fs)
		}
		result, err := pca(ctx, t, int(n), center)
		if err != nil {
			return nil, err
		}

		var out []byte
		for i := range result.rows {
			if i%checkEvery == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			for j := range result.cols {
				if j > 0 {
					out = append(out, ',')
				}
				out = appendDebug(out, result.data[i*result.cols+j])
			}
			out = append(out, '\n')
		}
		if err := writeOutput(rt, "output_data", out); err != nil {
			return nil, err
		}
		rt.Logger("teaclave_function::principal_components_analysis").Info(
			fmt.Sprintf("projected %d rows of %d features onto %d components", t.rows, fs, n))
		return fmt.Appendf(nil, "transform %d rows * %d cols lines of data.", result.rows, result.cols), nil
	}}
}

// pca fits rusty-machine's PCA to t (rows ≥ cols) and returns t projected
// onto its first n components.
func pca(ctx context.Context, t table, n int, center bool) (table, error) {
	rows, cols := t.rows, t.cols
	data := make([]float64, len(t.data))
	copy(data, t.data)
	if center {
		// rulinalg's mean(Axes::Row): the rows summed in order, then
		// divided by their count.
		means := make([]float64, cols)
		every := stride(cols)
		for i := range rows {
			if i%every == 0 {
				if err := ctx.Err(); err != nil {
					return table{}, err
				}
			}
			for j := range cols {
				means[j] += data[i*cols+j]
			}
		}
		for j := range means {
			means[j] /= float64(rows)
		}
		for i := range rows {
			for j := range cols {
				data[i*cols+j] -= means[j]
			}
		}
	}
	// LAPACK's iterations are not meant for NaN or ±Inf (rulinalg's
	// might not have ended); such data has no principal components.
	for _, x := range data {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return table{}, errors.New("input_data has values that are not finite (or overflow when centred)")
		}
	}
	out := table{rows: rows, cols: n, data: make([]float64, rows*n)}
	if n == 0 {
		return out, nil
	}
	if err := ctx.Err(); err != nil {
		return table{}, err
	}
	v, err := rightSingularVectors(ctx, rows, cols, data)
	if err != nil {
		return table{}, err
	}
	// data × V[:, :n], each value summed over the columns in order.
	every := stride(cols * n)
	for i := range rows {
		if i%every == 0 {
			if err := ctx.Err(); err != nil {
				return table{}, err
			}
		}
		row := data[i*cols : (i+1)*cols]
		for k := range n {
			var s float64
			for j, x := range row {
				s += float64(x * v.At(j, k))
			}
			out.data[i*n+k] = s
		}
	}
	return out, nil
}

// rightSingularVectors returns V of the SVD of the rows × cols matrix data.
//
// The SVD is one gonum call that cannot be interrupted; it runs in a
// goroutine so that a cancelled task returns at once, while the call
// finishes in the background (its time is bounded by the size limits:
// rows × cols values, cols columns). Only V is computed: it comes out
// bit-identical to the V of a factorisation that also computes U (tried
// on many shapes), at a quarter of the time for tall data.
func rightSingularVectors(ctx context.Context, rows, cols int, data []float64) (*mat.Dense, error) {
	type result struct {
		v   *mat.Dense
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			// gonum panics on what it considers misuse; never let that
			// take the node down.
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("the SVD failed: %v", p)}
			}
		}()
		var svd mat.SVD
		if !svd.Factorize(mat.NewDense(rows, cols, data), mat.SVDThinV) {
			done <- result{err: errors.New("the SVD did not converge")}
			return
		}
		var v mat.Dense
		svd.VTo(&v)
		done <- result{v: &v}
	}()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-done:
		if r.err != nil {
			return nil, r.err
		}
		return r.v, ctx.Err()
	}
}
