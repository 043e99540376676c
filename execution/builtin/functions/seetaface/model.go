package seetaface

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrModel is wrapped by every error ParseModel returns.
var ErrModel = errors.New("seetaface: invalid model")

// Structure of the FuSt cascade the detector understands, checked by
// ParseModel so that detection never indexes out of range.
const (
	// windowSize is the side of the square window every classifier sees
	// (rustface resets the window size to 40 in every detect call).
	windowSize = 40
	// labGroupSize is how many LAB base classifiers are summed before the
	// running score is compared with a threshold.
	labGroupSize = 10
	// labBins is the number of distinct LAB feature values.
	labBins = 256
	// labMaxOffset is the largest feature offset inside a window: the LAB
	// feature map covers a 9×9 neighbourhood per point.
	labMaxOffset = windowSize - 9
	// mlpOutputs is the number of outputs a refining MLP needs: the score
	// and the x, y and size corrections of the box.
	mlpOutputs = 4
)

// Model is a parsed SeetaFace FuSt model. It is immutable after parsing
// and safe for concurrent use by any number of detections.
type Model struct {
	// hierarchies[i] lists the entries of hierarchy i. The entries of the
	// first hierarchy hold one LAB classifier each and scan the pyramid;
	// every later entry holds a chain of SURF-MLP stages fed by the
	// proposals of first-hierarchy slots wndSrc.
	hierarchies [][]entry
}

type entry struct {
	lab    *labClassifier // first hierarchy only
	mlps   []*mlpClassifier
	wndSrc []int
}

// labClassifier is a boosted classifier over LAB features: each base
// classifier looks up a weight by the feature value at its offset.
type labClassifier struct {
	offX, offY []int
	thresh     []float32
	weights    []float32 // labBins per base classifier
}

// mlpClassifier is a multi-layer perceptron over normalized SURF feature
// vectors: ReLU hidden layers and a sigmoid output layer.
type mlpClassifier struct {
	featureIDs []int // 1-based ids into the feature pool
	thresh     float32
	layers     []mlpLayer
}

type mlpLayer struct {
	in, out int
	weights []float32 // out rows of in weights
	biases  []float32
	sigmoid bool
}

// modelReader reads little-endian 32-bit values, reporting a truncated
// file as an error.
type modelReader struct {
	b   []byte
	off int
}

func (r *modelReader) remaining() int { return len(r.b) - r.off }

func (r *modelReader) i32(what string) (int32, error) {
	if r.remaining() < 4 {
		return 0, fmt.Errorf("%w: truncated at byte %d reading %s", ErrModel, r.off, what)
	}
	v := int32(binary.LittleEndian.Uint32(r.b[r.off:]))
	r.off += 4
	return v, nil
}

// count reads a count of items of at least itemBytes bytes each and
// checks it against the bytes left, so no allocation outgrows the file.
func (r *modelReader) count(what string, lo int, itemBytes int) (int, error) {
	v, err := r.i32(what)
	if err != nil {
		return 0, err
	}
	if int(v) < lo {
		return 0, fmt.Errorf("%w: %s is %d, want at least %d", ErrModel, what, v, lo)
	}
	if itemBytes > 0 && int64(v)*int64(itemBytes) > int64(r.remaining()) {
		return 0, fmt.Errorf("%w: %s is %d, more than the file holds", ErrModel, what, v)
	}
	return int(v), nil
}

func (r *modelReader) f32s(what string, n int) ([]float32, error) {
	if n < 0 || int64(n)*4 > int64(r.remaining()) {
		return nil, fmt.Errorf("%w: truncated at byte %d reading %d values of %s", ErrModel, r.off, n, what)
	}
	out := make([]float32, n)
	for i := range out {
		v := math.Float32frombits(binary.LittleEndian.Uint32(r.b[r.off:]))
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("%w: %s holds a value that is not finite", ErrModel, what)
		}
		out[i] = v
		r.off += 4
	}
	return out, nil
}

// ParseModel parses a SeetaFace detection model in its binary format
// (little-endian int32 counts and float32 parameters; the format rustface
// and SeetaFace read) and checks that its structure is one the FuSt
// detector can run: a first hierarchy of single LAB classifiers and later
// hierarchies of SURF-MLP chains fed from it. Malformed or truncated data
// gives an error wrapping ErrModel; it never panics.
func ParseModel(b []byte) (*Model, error) {
	r := &modelReader{b: b}
	numHierarchy, err := r.count("hierarchy count", 1, 4)
	if err != nil {
		return nil, err
	}
	m := &Model{hierarchies: make([][]entry, numHierarchy)}
	for h := range numHierarchy {
		size, err := r.count("hierarchy size", 1, 4)
		if err != nil {
			return nil, err
		}
		entries := make([]entry, size)
		for e := range entries {
			if entries[e], err = readEntry(r, h == 0); err != nil {
				return nil, fmt.Errorf("hierarchy %d, entry %d: %w", h, e, err)
			}
		}
		m.hierarchies[h] = entries
	}
	if r.remaining() != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last hierarchy", ErrModel, r.remaining())
	}
	first := len(m.hierarchies[0])
	for h, entries := range m.hierarchies[1:] {
		if len(entries) > first {
			return nil, fmt.Errorf("%w: hierarchy %d has %d entries, more than the first hierarchy's %d", ErrModel, h+1, len(entries), first)
		}
		for e, en := range entries {
			for _, src := range en.wndSrc {
				if src < 0 || src >= first {
					return nil, fmt.Errorf("%w: hierarchy %d, entry %d: window source %d out of range", ErrModel, h+1, e, src)
				}
			}
		}
	}
	return m, nil
}

func readEntry(r *modelReader, first bool) (entry, error) {
	var en entry
	numStage, err := r.count("stage count", 0, 4)
	if err != nil {
		return en, err
	}
	if first && numStage != 1 {
		return en, fmt.Errorf("%w: a first-hierarchy entry has %d stages, want 1", ErrModel, numStage)
	}
	for range numStage {
		kind, err := r.i32("classifier kind")
		if err != nil {
			return en, err
		}
		switch {
		case kind == 0 && first:
			if en.lab, err = readLAB(r); err != nil {
				return en, err
			}
		case kind == 1 && !first:
			c, err := readMLP(r)
			if err != nil {
				return en, err
			}
			en.mlps = append(en.mlps, c)
		case kind == 0 || kind == 1:
			return en, fmt.Errorf("%w: classifier kind %d is not supported in this hierarchy", ErrModel, kind)
		default:
			return en, fmt.Errorf("%w: unknown classifier kind %d", ErrModel, kind)
		}
	}
	// The file writes -1 for "no window sources"; rustface read any
	// count below 1 as none.
	numSrc, err := r.count("window source count", math.MinInt32, 4)
	if err != nil {
		return en, err
	}
	numSrc = max(numSrc, 0)
	if !first && numSrc == 0 {
		return en, fmt.Errorf("%w: an entry after the first hierarchy has no window source", ErrModel)
	}
	for range numSrc {
		v, err := r.i32("window source")
		if err != nil {
			return en, err
		}
		en.wndSrc = append(en.wndSrc, int(v))
	}
	return en, nil
}

func readLAB(r *modelReader) (*labClassifier, error) {
	n, err := r.count("LAB base classifier count", 1, 8)
	if err != nil {
		return nil, err
	}
	if n%labGroupSize != 0 {
		return nil, fmt.Errorf("%w: %d LAB base classifiers, not a multiple of %d", ErrModel, n, labGroupSize)
	}
	numBin, err := r.i32("LAB bin count")
	if err != nil {
		return nil, err
	}
	if numBin != labBins-1 {
		return nil, fmt.Errorf("%w: LAB bin count %d, want %d", ErrModel, numBin, labBins-1)
	}
	c := &labClassifier{offX: make([]int, n), offY: make([]int, n)}
	for i := range n {
		x, err := r.i32("LAB feature x")
		if err != nil {
			return nil, err
		}
		y, err := r.i32("LAB feature y")
		if err != nil {
			return nil, err
		}
		if x < 0 || y < 0 || x > labMaxOffset || y > labMaxOffset {
			return nil, fmt.Errorf("%w: LAB feature offset (%d, %d) outside the window", ErrModel, x, y)
		}
		c.offX[i], c.offY[i] = int(x), int(y)
	}
	if c.thresh, err = r.f32s("LAB thresholds", n); err != nil {
		return nil, err
	}
	if c.weights, err = r.f32s("LAB weights", n*labBins); err != nil {
		return nil, err
	}
	return c, nil
}

func readMLP(r *modelReader) (*mlpClassifier, error) {
	// rustface ran a one-layer network's only layer twice, so at least
	// one hidden layer is required.
	numLayer, err := r.count("MLP layer count", 3, 4)
	if err != nil {
		return nil, err
	}
	numFeat, err := r.count("MLP feature count", 1, 4)
	if err != nil {
		return nil, err
	}
	c := &mlpClassifier{featureIDs: make([]int, numFeat)}
	poolSize := len(featurePool)
	for i := range numFeat {
		id, err := r.i32("MLP feature id")
		if err != nil {
			return nil, err
		}
		if id < 1 || int(id) > poolSize {
			return nil, fmt.Errorf("%w: MLP feature id %d outside 1..%d", ErrModel, id, poolSize)
		}
		c.featureIDs[i] = int(id)
	}
	th, err := r.f32s("MLP threshold", 1)
	if err != nil {
		return nil, err
	}
	c.thresh = th[0]
	in, err := r.count("MLP input size", 1, 0)
	if err != nil {
		return nil, err
	}
	if in != numFeat*featureDim {
		return nil, fmt.Errorf("%w: MLP input size %d, want %d for %d features", ErrModel, in, numFeat*featureDim, numFeat)
	}
	for l := 1; l < numLayer; l++ {
		out, err := r.count("MLP layer size", 1, 4)
		if err != nil {
			return nil, err
		}
		if int64(in)*int64(out)*4 > int64(r.remaining()) {
			return nil, fmt.Errorf("%w: MLP layer of %d×%d weights, more than the file holds", ErrModel, in, out)
		}
		layer := mlpLayer{in: in, out: out, sigmoid: l == numLayer-1}
		if layer.weights, err = r.f32s("MLP weights", in*out); err != nil {
			return nil, err
		}
		if layer.biases, err = r.f32s("MLP biases", out); err != nil {
			return nil, err
		}
		c.layers = append(c.layers, layer)
		in = out
	}
	if in < mlpOutputs {
		return nil, fmt.Errorf("%w: MLP output size %d, want at least %d", ErrModel, in, mlpOutputs)
	}
	return c, nil
}
