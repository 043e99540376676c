package functions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// GBDTTrain is builtin-gbdt-train (functions.md §2.2). Arguments, all
// required: feature_size, max_depth (at most 2^32-1), iterations and
// min_leaf_size (non-negative integers), shrinkage (a number, used as a
// float32), feature_sample_ratio and data_sample_ratio (numbers in
// (0, 1]), loss (a string: SquaredError, LogLikelyhood, LAD or an xgboost
// objective name; any other string means SquaredError, as in gbdt-rs) and
// training_optimization_level (0 to 255; 3 and more mean 2, and the level
// changes memory use in gbdt-rs, never the model).
//
// Input training_data: lines of feature_size+1 comma-separated numbers,
// the last one the label, read as float32. It trains gbdt-rs's gradient
// boosted trees with the same float32 and float64 operations, and writes
// trained_model, the serde JSON of gbdt-rs's GBDT that builtin-gbdt-predict
// reads. With both ratios 1 training is deterministic and the model is
// byte-identical to Teaclave's; a ratio below 1 samples features or rows
// at random, as gbdt-rs did. Summary: "Trained {rows} lines of data."
func GBDTTrain(l Limits) Function {
	l = l.withDefaults()
	return Function{Name: NameGBDTTrain, Run: func(ctx context.Context, raw json.RawMessage, rt executor.Runtime) ([]byte, error) {
		conf, known, err := parseGBDTTrainArguments(raw, l)
		if err != nil {
			return nil, err
		}
		in, err := openInput(rt, "training_data", l.MaxInputBytes)
		if err != nil {
			return nil, err
		}
		defer in.Close()
		features, labels, err := readGBDTTrainingData(ctx, in, conf.featureSize, l)
		if err != nil {
			return nil, err
		}
		if len(labels) == 0 {
			// gbdt-rs trained on nothing and wrote a bias of NaN (null)
			// or 0 and trees of one leaf.
			return nil, errors.New("training_data has no rows")
		}
		log := rt.Logger("teaclave_function::gbdt_train")
		if !known {
			log.Warn("unsupported loss, set to default(SquaredError)")
		}
		m, err := newGBDTFitter(conf, features, labels, l.MaxCells).fit(ctx)
		if err != nil {
			return nil, err
		}
		if err := m.checkFinite(); err != nil {
			return nil, err
		}
		if err := writeOutput(rt, "trained_model", appendGBDTModel(nil, conf, m)); err != nil {
			return nil, err
		}
		log.Info(fmt.Sprintf("trained %d trees on %d rows of %d features", len(m.trees), len(labels), conf.featureSize))
		return fmt.Appendf(nil, "Trained %d lines of data.", len(labels)), nil
	}}
}

// parseGBDTTrainArguments reads the nine arguments. known is false when
// loss is not a name gbdt-rs knows (it then trains with SquaredError).
func parseGBDTTrainArguments(raw json.RawMessage, l Limits) (conf gbdtConfig, known bool, err error) {
	a, err := parseArguments(raw)
	if err != nil {
		return conf, false, err
	}
	var u [5]uint64
	for i, key := range []string{"feature_size", "max_depth", "iterations", "min_leaf_size", "training_optimization_level"} {
		if u[i], err = a.Uint(key); err != nil {
			return conf, false, err
		}
	}
	features, depth, iterations, minLeaf, level := u[0], u[1], u[2], u[3], u[4]
	var f [3]float64
	for i, key := range []string{"shrinkage", "feature_sample_ratio", "data_sample_ratio"} {
		if f[i], err = a.Float(key); err != nil {
			return conf, false, err
		}
	}
	shrinkage, featureRatio, dataRatio := f[0], f[1], f[2]
	lossName, err := a.String("loss")
	if err != nil {
		return conf, false, err
	}

	if depth > math.MaxUint32 {
		return conf, false, fmt.Errorf("%w: field %q must be at most %d", ErrArguments, "max_depth", uint64(math.MaxUint32))
	}
	if level > math.MaxUint8 {
		return conf, false, fmt.Errorf("%w: field %q must be at most %d", ErrArguments, "training_optimization_level", math.MaxUint8)
	}
	if s := float32(shrinkage); math.IsInf(float64(s), 0) {
		return conf, false, fmt.Errorf("%w: field %q is out of the float32 range", ErrArguments, "shrinkage")
	}
	for _, r := range []struct {
		key string
		v   float64
	}{{"feature_sample_ratio", featureRatio}, {"data_sample_ratio", dataRatio}} {
		// gbdt-rs took any value: 0 or less trained on nothing, more
		// than 1 meant 1.
		if !(r.v > 0 && r.v <= 1) {
			return conf, false, fmt.Errorf("%w: field %q must be greater than 0 and at most 1", ErrArguments, r.key)
		}
	}
	if features > uint64(l.MaxColumns) {
		return conf, false, fmt.Errorf("%w: feature_size %d exceeds the limit of %d", ErrTooLarge, features, l.MaxColumns)
	}
	// Every tree has a node at least.
	if iterations > uint64(l.MaxCells) {
		return conf, false, fmt.Errorf("%w: %d iterations exceed the limit of %d trees", ErrTooLarge, iterations, l.MaxCells)
	}
	loss, known := gbdtTrainLossFor(lossName)
	return gbdtConfig{
		featureSize:        int(features),
		maxDepth:           uint32(depth),
		iterations:         int(iterations),
		shrinkage:          float32(shrinkage),
		featureSampleRatio: featureRatio,
		dataSampleRatio:    dataRatio,
		minLeafSize:        minLeaf,
		loss:               loss,
		optimizationLevel:  uint8(min(level, 2)),
	}, known, nil
}

// readGBDTTrainingData parses training_data as Teaclave's gbdt_train.rs
// did: each line trimmed, an empty line an error, fields (not trimmed)
// parsed as float32, exactly fs+1 of them, the last the label. NaN, which
// gbdt-rs could not sort (a panic), is refused.
func readGBDTTrainingData(ctx context.Context, in input, fs int, l Limits) (features, labels []float32, err error) {
	width := fs + 1
	row := make([]float32, 0, width)
	err = lines(ctx, in, l.MaxInputBytes, func(line string) error {
		line = strings.TrimSpace(line)
		if line == "" {
			return errors.New("Empty line")
		}
		if (len(labels)+1)*width > l.MaxCells {
			return fmt.Errorf("%w: more than %d rows of %d columns", ErrTooLarge, len(labels), width)
		}
		row = row[:0]
		n := 0
		for field := range strings.SplitSeq(line, ",") {
			v, err := parseFloat(field, 32)
			if err != nil {
				return err
			}
			if n < width {
				row = append(row, float32(v))
			}
			n++
		}
		if n != width {
			return fmt.Errorf("Data format error: column len = %d, expected = %d", n, width)
		}
		for _, v := range row {
			if v != v {
				return fmt.Errorf("Data format error: NaN in row %d", len(labels)+1)
			}
		}
		features = append(features, row[:fs]...)
		labels = append(labels, row[fs])
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return features, labels, nil
}

// checkFinite refuses a model with a value that is not finite: serde_json
// wrote such a value as null, which neither gbdt-rs nor
// builtin-gbdt-predict can read back. Labels outside [-1, 1] give
// LogLikelyhood a NaN bias; a split between a number and an infinity, or
// between two numbers near the float32 limit, is at an infinity.
func (m *gbdtTrained) checkFinite() error {
	finite := func(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
	if !finite(m.bias) {
		return errors.New("training produced a bias that is not finite (labels outside [-1, 1] for LogLikelyhood?)")
	}
	for t, tree := range m.trees {
		for i, n := range tree {
			if !finite(n.featureValue) || !finite(n.pred) {
				return fmt.Errorf("training produced a value that is not finite (tree %d node %d)", t, i)
			}
		}
	}
	return nil
}

// appendGBDTModel appends the model as serde_json wrote gbdt-rs's GBDT:
// the fields in declaration order, float32 values in their shortest form.
func appendGBDTModel(b []byte, c gbdtConfig, m *gbdtTrained) []byte {
	b = append(b, `{"conf":{"feature_size":`...)
	b = strconv.AppendInt(b, int64(c.featureSize), 10)
	b = append(b, `,"max_depth":`...)
	b = strconv.AppendUint(b, uint64(c.maxDepth), 10)
	b = append(b, `,"iterations":`...)
	b = strconv.AppendInt(b, int64(c.iterations), 10)
	b = append(b, `,"shrinkage":`...)
	b = appendJSONFloat32(b, c.shrinkage)
	b = append(b, `,"feature_sample_ratio":`...)
	b = appendJSONFloat(b, c.featureSampleRatio)
	b = append(b, `,"data_sample_ratio":`...)
	b = appendJSONFloat(b, c.dataSampleRatio)
	b = append(b, `,"min_leaf_size":`...)
	b = strconv.AppendUint(b, c.minLeafSize, 10)
	b = append(b, `,"loss":"`...)
	b = append(b, c.loss.name...)
	b = append(b, `","debug":false,"initial_guess_enabled":false,"training_optimization_level":`...)
	b = strconv.AppendUint(b, uint64(c.optimizationLevel), 10)
	b = append(b, `},"trees":[`...)
	for t, tree := range m.trees {
		if t > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"tree":{"tree":[`...)
		for i, n := range tree {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"value":{"feature_index":`...)
			b = strconv.AppendInt(b, int64(n.featureIndex), 10)
			b = append(b, `,"feature_value":`...)
			b = appendJSONFloat32(b, n.featureValue)
			b = append(b, `,"pred":`...)
			b = appendJSONFloat32(b, n.pred)
			b = append(b, `,"missing":`...)
			b = strconv.AppendInt(b, int64(n.missing), 10)
			b = append(b, `,"is_leaf":`...)
			b = strconv.AppendBool(b, n.leaf)
			b = append(b, `},"index":`...)
			b = strconv.AppendInt(b, int64(i), 10)
			b = append(b, `,"left":`...)
			b = strconv.AppendInt(b, int64(n.left), 10)
			b = append(b, `,"right":`...)
			b = strconv.AppendInt(b, int64(n.right), 10)
			b = append(b, '}')
		}
		b = append(b, `]},"feature_size":`...)
		b = strconv.AppendInt(b, int64(c.featureSize), 10)
		b = append(b, `,"max_depth":`...)
		b = strconv.AppendUint(b, uint64(c.maxDepth), 10)
		b = append(b, `,"min_leaf_size":`...)
		b = strconv.AppendUint(b, c.minLeafSize, 10)
		b = append(b, `,"loss":"`...)
		b = append(b, c.loss.name...)
		b = append(b, `","feature_sample_ratio":`...)
		b = appendJSONFloat(b, c.featureSampleRatio)
		b = append(b, '}')
	}
	b = append(b, `],"bias":`...)
	b = appendJSONFloat32(b, m.bias)
	return append(b, '}')
}
