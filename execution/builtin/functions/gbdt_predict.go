package functions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// GBDTPredict is builtin-gbdt-predict (functions.md §2.2). No arguments.
// Inputs: model_file, the JSON model of gbdt-rs (what builtin-gbdt-train
// writes), and data_file, one row of comma-separated numbers per line (no
// label; each field trimmed). It walks each of the model's trees in
// float32 as gbdt-rs did, and writes result_file: one prediction per row
// with ten decimals and a newline. Summary:
// "Predict result has {rows} lines of data."
func GBDTPredict(l Limits) Function {
	l = l.withDefaults()
	return Function{Name: NameGBDTPredict, Run: func(ctx context.Context, _ json.RawMessage, rt executor.Runtime) ([]byte, error) {
		raw, err := readInput(ctx, rt, "model_file", l.MaxInputBytes)
		if err != nil {
			return nil, err
		}
		m, err := parseGBDT(raw, l)
		if err != nil {
			return nil, err
		}

		in, err := openInput(rt, "data_file", l.MaxInputBytes)
		if err != nil {
			return nil, err
		}
		defer in.Close()
		// Rows are predicted as they are read; a prediction error is kept
		// until the whole file has parsed, so that a parse error is
		// reported first, as Teaclave (which parsed everything first) did.
		var (
			out               []byte
			rows, cells, work int
			predictErr        error
		)
		err = lines(ctx, in, l.MaxInputBytes, func(line string) error {
			row, err := parseGBDTRow(line)
			if err != nil {
				return err
			}
			if cells += len(row); cells > l.MaxCells {
				return fmt.Errorf("%w: data_file has more than %d values", ErrTooLarge, l.MaxCells)
			}
			rows++
			if predictErr != nil {
				return nil
			}
			p, steps, err := m.predict(row)
			if err != nil {
				predictErr = fmt.Errorf("row %d: %w", rows, err)
				return nil
			}
			// A large model makes a row expensive: look at the context
			// by the nodes visited, not only by the lines read.
			if work += steps; work >= 1<<20 {
				work = 0
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			out = appendFixed(out, float64(p), 10)
			out = append(out, '\n')
			return nil
		})
		if err != nil {
			return nil, err
		}
		if predictErr != nil {
			return nil, predictErr
		}
		if err := writeOutput(rt, "result_file", out); err != nil {
			return nil, err
		}
		rt.Logger("teaclave_function::gbdt_predict").Info(
			fmt.Sprintf("predicted %d rows with %d trees", rows, len(m.trees)))
		return fmt.Appendf(nil, "Predict result has %d lines of data.", rows), nil
	}}
}

// parseGBDTRow parses a data_file line as gbdt_predict.rs did.
func parseGBDTRow(line string) ([]float32, error) {
	line = strings.TrimSpace(line)
	if line == "" {
		return nil, errors.New("Empty line")
	}
	row := make([]float32, 0, strings.Count(line, ",")+1)
	for field := range strings.SplitSeq(line, ",") {
		field = strings.TrimSpace(field)
		if field == "" {
			return nil, errors.New("Empty feature")
		}
		v, err := parseFloat(field, 32)
		if err != nil {
			return nil, err
		}
		row = append(row, float32(v))
	}
	return row, nil
}

// gbdtLoss is gbdt-rs's Loss; only the final transform of a prediction
// depends on it.
type gbdtLoss int

const (
	lossIdentity gbdtLoss = iota
	lossLogLikelyhood
	lossLogistic
)

// gbdtLosses maps the serde names of gbdt-rs's Loss variants.
func gbdtLosses(name string) (gbdtLoss, bool) {
	switch name {
	case "SquaredError", "LAD", "RegLinear", "BinaryLogitraw", "MultiSoftprob", "MultiSoftmax", "RankPairwise":
		return lossIdentity, true
	case "LogLikelyhood": // sic
		return lossLogLikelyhood, true
	case "RegLogistic", "BinaryLogistic":
		return lossLogistic, true
	}
	return 0, false
}

// gbdtNode is a node of a gbdt-rs BinaryTree: children are indices into
// the tree's node array, 0 meaning none (the root is at 0).
type gbdtNode struct {
	featureIndex int
	featureValue float32
	pred         float32
	missing      int8
	leaf         bool
	left, right  int
}

type gbdtModel struct {
	trees        [][]gbdtNode
	shrinkage    float32
	bias         float32
	initialGuess bool
	loss         gbdtLoss
}

// The model as serde wrote it. Numbers are read as float64 and then
// rounded to float32, as serde_json read an f32.
type gbdtJSON struct {
	Conf *struct {
		Iterations          *uint64  `json:"iterations"`
		Shrinkage           *float64 `json:"shrinkage"`
		Loss                *string  `json:"loss"`
		InitialGuessEnabled *bool    `json:"initial_guess_enabled"`
	} `json:"conf"`
	Trees *[]struct {
		Tree *struct {
			Tree *[]struct {
				Value *struct {
					FeatureIndex *uint64  `json:"feature_index"`
					FeatureValue *float64 `json:"feature_value"`
					Pred         *float64 `json:"pred"`
					Missing      *int8    `json:"missing"`
					IsLeaf       *bool    `json:"is_leaf"`
				} `json:"value"`
				Left  *uint64 `json:"left"`
				Right *uint64 `json:"right"`
			} `json:"tree"`
		} `json:"tree"`
	} `json:"trees"`
	Bias *float64 `json:"bias"`
}

var errModel = errors.New("invalid model")

func parseGBDT(raw []byte, l Limits) (*gbdtModel, error) {
	var j gbdtJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("%w: %v", errModel, jsonProblem(err))
	}
	if j.Conf == nil || j.Conf.Iterations == nil || j.Conf.Shrinkage == nil || j.Conf.Loss == nil || j.Conf.InitialGuessEnabled == nil {
		return nil, fmt.Errorf("%w: conf needs iterations, shrinkage, loss and initial_guess_enabled", errModel)
	}
	if j.Trees == nil || j.Bias == nil {
		return nil, fmt.Errorf("%w: missing trees or bias", errModel)
	}
	loss, ok := gbdtLosses(*j.Conf.Loss)
	if !ok {
		return nil, fmt.Errorf("%w: unknown loss", errModel)
	}
	// gbdt-rs asserted this (a panic in Teaclave).
	if uint64(len(*j.Trees)) != *j.Conf.Iterations {
		return nil, fmt.Errorf("%w: %d trees but %d iterations", errModel, len(*j.Trees), *j.Conf.Iterations)
	}
	m := &gbdtModel{
		trees:        make([][]gbdtNode, len(*j.Trees)),
		shrinkage:    float32(*j.Conf.Shrinkage),
		bias:         float32(*j.Bias),
		initialGuess: *j.Conf.InitialGuessEnabled,
		loss:         loss,
	}
	nodes := 0
	for t, tj := range *j.Trees {
		if tj.Tree == nil || tj.Tree.Tree == nil || len(*tj.Tree.Tree) == 0 {
			return nil, fmt.Errorf("%w: tree %d has no nodes", errModel, t)
		}
		if nodes += len(*tj.Tree.Tree); nodes > l.MaxCells {
			return nil, fmt.Errorf("%w: the model has more than %d nodes", ErrTooLarge, l.MaxCells)
		}
		tree := make([]gbdtNode, len(*tj.Tree.Tree))
		for i, nj := range *tj.Tree.Tree {
			v := nj.Value
			if v == nil || v.FeatureIndex == nil || v.FeatureValue == nil || v.Pred == nil || v.Missing == nil || v.IsLeaf == nil || nj.Left == nil || nj.Right == nil {
				return nil, fmt.Errorf("%w: tree %d node %d lacks a field", errModel, t, i)
			}
			if *v.FeatureIndex > math.MaxInt32 || *nj.Left >= uint64(len(tree)) || *nj.Right >= uint64(len(tree)) {
				return nil, fmt.Errorf("%w: tree %d node %d is out of range", errModel, t, i)
			}
			tree[i] = gbdtNode{
				featureIndex: int(*v.FeatureIndex),
				featureValue: float32(*v.FeatureValue),
				pred:         float32(*v.Pred),
				missing:      *v.Missing,
				leaf:         *v.IsLeaf,
				left:         int(*nj.Left),
				right:        int(*nj.Right),
			}
		}
		m.trees[t] = tree
	}
	return m, nil
}

// jsonProblem describes a JSON error without quoting the input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at offset %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be %s", te.Field, te.Type)
	}
	return "malformed JSON"
}

// predict is gbdt-rs's GBDT::predict for one row: bias (or the row's
// initial guess, 0 for test data), plus shrinkage × each tree's value, in
// float32, then the loss's transform. It also returns the nodes visited.
func (m *gbdtModel) predict(row []float32) (float32, int, error) {
	p := m.bias
	if m.initialGuess {
		p = 0
	}
	steps := 0
	for _, tree := range m.trees {
		v, n, err := walk(tree, row)
		if err != nil {
			return 0, 0, err
		}
		steps += n
		p = p + float32(m.shrinkage*v)
	}
	switch m.loss {
	case lossLogLikelyhood:
		p = 1 / (1 + exp32(-2*p))
	case lossLogistic:
		p = 1 / (1 + exp32(-p))
	}
	return p, steps, nil
}

// missingValue is gbdt-rs's VALUE_TYPE_UNKNOWN (f32::MIN): a feature with
// this value is missing.
const missingValue = -math.MaxFloat32

// walk is gbdt-rs's DecisionTree::predict_one; it also returns the nodes
// visited. A malformed tree (a missing child, a cycle) is an error where
// gbdt-rs panicked or looped.
func walk(tree []gbdtNode, row []float32) (float32, int, error) {
	i := 0
	for step := 1; step <= len(tree); step++ {
		n := &tree[i]
		if n.leaf {
			return n.pred, step, nil
		}
		if n.featureIndex >= len(row) {
			return 0, 0, fmt.Errorf("the model uses feature %d but the row has %d", n.featureIndex+1, len(row))
		}
		var next int
		switch f := row[n.featureIndex]; {
		case f == missingValue && n.missing == 0:
			return n.pred, step, nil
		case f == missingValue && n.missing == -1, f != missingValue && f < n.featureValue:
			next = n.left
		default:
			next = n.right
		}
		if next == 0 {
			return 0, 0, fmt.Errorf("%w: node %d lacks a child", errModel, i)
		}
		i = next
	}
	return 0, 0, fmt.Errorf("%w: a tree has a cycle", errModel)
}

// exp32 is e^x rounded to float32 (Rust's f32::exp).
func exp32(x float32) float32 { return float32(expRounded(float64(x))) }
