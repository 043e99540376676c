package functions

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// This file is a port of the training half of gbdt-rs (the crate behind
// Teaclave's builtin-gbdt-train): GBDT::fit, DecisionTree::fit_n and the
// split search, with the same float32 and float64 operations in the same
// order, so that the trees and the model bytes are those of Teaclave.
//
// Only the orders that change results are kept. gbdt-rs keeps, for every
// feature, the samples sorted by that feature's value, and narrows these
// lists down the tree; its three training_optimization_levels differ in
// whether the lists are recomputed, filtered or split, never in the order
// of the samples they hold, so one way (splitting, level 2) gives the
// trees of all three. Samples of equal feature value are kept in index
// order (gbdt-rs's unstable sort, Rust's pdqsort, may order them
// otherwise); that order only reaches the float64 sums of a node's
// targets, which for LAD (targets ±1) are exact either way. For the other
// losses a sum could differ in its last bit; on Teaclave's fixture,
// reversing or shuffling the ties gave the same model bytes.

// gbdtLossKind is how training treats a loss.
type gbdtLossKind int

const (
	kindSquared gbdtLossKind = iota // SquaredError and the xgboost names
	kindLog                         // LogLikelyhood
	kindLAD                         // LAD
)

// gbdtTrainLoss is gbdt-rs's Loss as training sees it: the serde name it
// writes in the model, and the kind of training.
type gbdtTrainLoss struct {
	name string
	kind gbdtLossKind
}

// gbdtTrainLossFor is gbdt-rs's string2loss: the crate's names, the
// xgboost objectives, and anything else SquaredError (known false).
func gbdtTrainLossFor(s string) (loss gbdtTrainLoss, known bool) {
	switch s {
	case "LogLikelyhood": // sic
		return gbdtTrainLoss{"LogLikelyhood", kindLog}, true
	case "SquaredError":
		return gbdtTrainLoss{"SquaredError", kindSquared}, true
	case "LAD":
		return gbdtTrainLoss{"LAD", kindLAD}, true
	case "reg:linear":
		return gbdtTrainLoss{"RegLinear", kindSquared}, true
	case "binary:logistic":
		return gbdtTrainLoss{"BinaryLogistic", kindSquared}, true
	case "reg:logistic":
		return gbdtTrainLoss{"RegLogistic", kindSquared}, true
	case "binary:logitraw":
		return gbdtTrainLoss{"BinaryLogitraw", kindSquared}, true
	case "multi:softprob":
		return gbdtTrainLoss{"MultiSoftprob", kindSquared}, true
	case "multi:softmax":
		return gbdtTrainLoss{"MultiSoftmax", kindSquared}, true
	case "rank:pairwise":
		return gbdtTrainLoss{"RankPairwise", kindSquared}, true
	}
	return gbdtTrainLoss{"SquaredError", kindSquared}, false
}

// gbdtConfig is gbdt-rs's Config (debug and initial_guess_enabled are
// always false in Teaclave).
type gbdtConfig struct {
	featureSize        int
	maxDepth           uint32
	iterations         int
	shrinkage          float32
	featureSampleRatio float64
	dataSampleRatio    float64
	minLeafSize        uint64
	loss               gbdtTrainLoss
	optimizationLevel  uint8
}

// gbdtTrained is a trained model: the trees and the bias.
type gbdtTrained struct {
	trees [][]gbdtNode
	bias  float32
}

// gbdtPair is a sample (its index in the training set) and one of its
// values: a feature or a residual.
type gbdtPair struct {
	index int32
	value float32
}

// gbdtWork is a node still to fit, with its samples: data in the order
// gbdt-rs held them (the parent's split feature's order), feats[f] sorted
// by feature f, resid sorted by residual (LAD only).
type gbdtWork struct {
	parent int
	left   bool
	depth  uint32
	data   []int32
	feats  [][]gbdtPair
	resid  []gbdtPair
}

// gbdtFitter holds the training set and gbdt-rs's TrainingCache.
type gbdtFitter struct {
	conf     gbdtConfig
	n        int
	features []float32 // n × featureSize, row-major
	labels   []float32

	target   []float32
	residual []float32
	// cache_value of gbdt-rs: target·weight, target²·weight and weight
	// (always 1 here), in float64.
	cs, css, cc []float64
	logitC      []float32
	// preds is each sample's value in the last tree fitted; like gbdt-rs
	// it keeps a sample's older value when the sample did not reach a
	// leaf (a missing feature at a split).
	preds []float32
	// ordered[f] is every sample sorted by feature f, computed once.
	ordered [][]gbdtPair

	marks []int8 // scratch: which child a sample goes to

	rng *rand.Rand // only when a sample ratio is below 1

	maxNodes, nodes int
	work            int // work since the last look at the context
}

func newGBDTFitter(conf gbdtConfig, features, labels []float32, maxNodes int) *gbdtFitter {
	n := len(labels)
	f := &gbdtFitter{
		conf:     conf,
		n:        n,
		features: features,
		labels:   labels,
		target:   make([]float32, n),
		residual: make([]float32, n),
		cs:       make([]float64, n),
		css:      make([]float64, n),
		cc:       make([]float64, n),
		logitC:   make([]float32, n),
		preds:    make([]float32, n),
		marks:    make([]int8, n),
		maxNodes: maxNodes,
	}
	for i := range f.preds {
		f.preds[i] = missingValue
		f.cc[i] = 1 // weight
	}
	if conf.featureSampleRatio < 1 || conf.dataSampleRatio < 1 {
		// gbdt-rs sampled with rand's thread_rng: samples differ from
		// run to run there too.
		f.rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return f
}

// look checks the context once about every million units of work.
func (f *gbdtFitter) look(ctx context.Context, units int) error {
	if f.work += units; f.work >= 1<<20 {
		f.work = 0
		return ctx.Err()
	}
	return nil
}

// fit is gbdt-rs's GBDT::fit.
func (f *gbdtFitter) fit(ctx context.Context) (*gbdtTrained, error) {
	c := f.conf
	// The trees grow as they are fitted: iterations may be large and
	// training cancelled or stopped by the node limit long before.
	m := &gbdtTrained{trees: make([][]gbdtNode, 0, min(c.iterations, 1024))}
	nrSamples := f.n
	if c.dataSampleRatio < 1 {
		nrSamples = int(float64(f.n) * c.dataSampleRatio)
	}
	m.bias = f.initialBias()
	predicted := make([]float32, f.n)
	for i := range predicted {
		predicted[i] = m.bias
	}
	f.ordered = make([][]gbdtPair, c.featureSize)
	for j := range f.ordered {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l := make([]gbdtPair, f.n)
		for i := range l {
			l[i] = gbdtPair{int32(i), f.features[i*c.featureSize+j]}
		}
		slices.SortStableFunc(l, func(a, b gbdtPair) int { return cmpF32(a.value, b.value) })
		f.ordered[j] = l
	}

	inSubset := make([]bool, f.n)
	for range c.iterations {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		subset := make([]int32, 0, nrSamples)
		var remaining []int32
		if nrSamples < f.n {
			perm := f.rng.Perm(f.n)
			for k, i := range perm {
				inSubset[i] = k < nrSamples
			}
			for i := range f.n {
				if inSubset[i] {
					subset = append(subset, int32(i))
				} else {
					remaining = append(remaining, int32(i))
				}
			}
		} else {
			for i := range f.n {
				inSubset[i] = true
				subset = append(subset, int32(i))
			}
		}
		f.computeTargets(predicted)
		tree, err := f.fitTree(ctx, subset, inSubset)
		if err != nil {
			return nil, err
		}
		m.trees = append(m.trees, tree)
		for _, i := range subset {
			predicted[i] = predicted[i] + float32(f.preds[i]*c.shrinkage)
		}
		for _, i := range remaining {
			v, _, err := walk(tree, f.features[int(i)*c.featureSize:int(i+1)*c.featureSize])
			if err != nil {
				return nil, err
			}
			predicted[i] = predicted[i] + float32(v*c.shrinkage)
		}
	}
	return m, nil
}

// cmpF32 orders float32 values (no NaN reaches it).
func cmpF32(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// initialBias is gbdt-rs's GBDT::init with initial_guess_enabled false.
func (f *gbdtFitter) initialBias() float32 {
	switch f.conf.loss.kind {
	case kindLog:
		v := f.labelAverage()
		return float32(math.Log(float64((1+v)/(1-v)))) / 2
	case kindLAD:
		return f.weightedLabelMedian()
	}
	return f.labelAverage()
}

// labelAverage is gbdt-rs's label_average, summed in float32.
func (f *gbdtFitter) labelAverage() float32 {
	var s, c float32
	for _, l := range f.labels {
		s += l * 1
		c += 1
	}
	return s / c
}

// weightedLabelMedian is gbdt-rs's weighted_label_median. Its odd index
// test (i-1 > 0 on an unsigned i) is kept: at i = 1 it takes the label
// itself, not the mean of two. At i = 0 (one sample), where gbdt-rs
// panicked, it takes the label.
func (f *gbdtFitter) weightedLabelMedian() float32 {
	sorted := slices.Clone(f.labels)
	sort.SliceStable(sorted, func(a, b int) bool { return sorted[a] < sorted[b] })
	var all float32
	for range sorted {
		all += 1
	}
	var w float32
	for i := range sorted {
		w += 1
		if w*2 > all {
			if i >= 2 {
				return (sorted[i] + sorted[i-1]) / 2
			}
			return sorted[i]
		}
	}
	return 0
}

// computeTargets is gbdt-rs's square_loss_process, log_loss_process or
// lad_loss_process: the targets of the next tree, for every sample.
func (f *gbdtFitter) computeTargets(predicted []float32) {
	for i, y := range f.labels {
		p := predicted[i]
		switch f.conf.loss.kind {
		case kindLog:
			f.target[i] = 2 * y / (1 + exp32(float32(2*y)*p))
		case kindLAD:
			f.residual[i] = y - p
			if f.residual[i] >= 0 {
				f.target[i] = 1
			} else {
				f.target[i] = -1
			}
		default:
			f.target[i] = y - p
		}
	}
}

// fitTree is gbdt-rs's DecisionTree::fit_n on subset (ascending indices),
// with TrainingCache::init_one_iteration first. The nodes are fitted
// depth first, left before right, so they are numbered as gbdt-rs
// numbered them; a stack replaces gbdt-rs's recursion, whose depth the
// data bounds, not max_depth.
func (f *gbdtFitter) fitTree(ctx context.Context, subset []int32, inSubset []bool) ([]gbdtNode, error) {
	fs := f.conf.featureSize
	for i := range f.n {
		t := float64(f.target[i])
		w := f.cc[i]
		s := t * w
		f.cs[i] = s
		f.css[i] = t * s
		if f.conf.loss.kind == kindLog {
			y := math.Abs(t)
			f.logitC[i] = float32(float64(y*(2-y)) * w)
		}
	}
	root := gbdtWork{data: subset, feats: make([][]gbdtPair, fs)}
	for j := range fs {
		root.feats[j] = filterPairs(f.ordered[j], inSubset, len(subset))
	}
	if f.conf.loss.kind == kindLAD {
		all := make([]gbdtPair, f.n)
		for i := range all {
			all[i] = gbdtPair{int32(i), f.residual[i]}
		}
		slices.SortStableFunc(all, func(a, b gbdtPair) int { return cmpF32(a.value, b.value) })
		root.resid = filterPairs(all, inSubset, len(subset))
	}

	var tree []gbdtNode
	stack := []gbdtWork{root}
	for len(stack) > 0 {
		w := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if f.nodes++; f.nodes > f.maxNodes {
			return nil, fmt.Errorf("%w: the model would have more than %d nodes", ErrTooLarge, f.maxNodes)
		}
		if err := f.look(ctx, 1+len(w.data)*max(1, fs)); err != nil {
			return nil, err
		}
		idx := len(tree)
		tree = append(tree, gbdtNode{})
		if idx > 0 {
			if w.left {
				tree[w.parent].left = idx
			} else {
				tree[w.parent].right = idx
			}
		}
		node := &tree[idx]
		node.pred = f.leafValue(w)
		if w.depth >= f.conf.maxDepth || f.sameTarget(w.data) || uint64(len(w.data)) <= f.conf.minLeafSize {
			f.makeLeaf(node, w.data)
			continue
		}
		left, right, ok := f.split(node, w)
		if !ok {
			node.pred = f.leafValue(w)
			f.makeLeaf(node, w.data)
			continue
		}
		left.parent, right.parent = idx, idx
		stack = append(stack, right, left)
	}
	return tree, nil
}

// filterPairs keeps the pairs of the samples in keep, in order.
func filterPairs(all []gbdtPair, keep []bool, size int) []gbdtPair {
	if len(all) == size {
		return slices.Clone(all)
	}
	out := make([]gbdtPair, 0, size)
	for _, p := range all {
		if keep[p.index] {
			out = append(out, p)
		}
	}
	return out
}

func (f *gbdtFitter) makeLeaf(node *gbdtNode, data []int32) {
	node.leaf = true
	for _, i := range data {
		f.preds[i] = node.pred
	}
}

// leafValue is gbdt-rs's calculate_pred.
func (f *gbdtFitter) leafValue(w gbdtWork) float32 {
	switch f.conf.loss.kind {
	case kindLog:
		var s, c float64
		for _, i := range w.data {
			s += f.cs[i]
			c += float64(f.logitC[i])
		}
		if math.Abs(c) < 1e-10 {
			return 0
		}
		return float32(s / c)
	case kindLAD:
		var all float64
		for _, p := range w.resid {
			all += f.cc[p.index]
		}
		var weight float64
		for k, p := range w.resid {
			weight += f.cc[p.index]
			if weight*2 > all {
				if k >= 1 {
					return (p.value + w.resid[k-1].value) / 2
				}
				return p.value
			}
		}
		return 0
	}
	var sum, weight float64
	for _, i := range w.data {
		sum += f.cs[i]
		weight += f.cc[i]
	}
	if math.Abs(weight) < 1e-10 {
		return 0
	}
	return float32(sum / weight)
}

// almostEqual is gbdt-rs's almost_equal.
func almostEqual(a, b float32) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return float64(d) < 1e-5
}

// sameTarget is gbdt-rs's same: whether every sample's target is almost
// the first one's.
func (f *gbdtFitter) sameTarget(data []int32) bool {
	if len(data) == 0 {
		return false
	}
	t := f.target[data[0]]
	for _, i := range data[1:] {
		if !almostEqual(t, f.target[i]) {
			return false
		}
	}
	return true
}

// split is gbdt-rs's DecisionTree::split followed by the making of the
// two children (SubCache::split_cache). It sets the node's feature and
// value when it splits.
func (f *gbdtFitter) split(node *gbdtNode, w gbdtWork) (left, right gbdtWork, ok bool) {
	fs := f.conf.featureSize
	fv := make([]int, fs)
	for i := range fv {
		fv[i] = i
	}
	count := fs
	if f.conf.featureSampleRatio < 1 {
		count = int(f.conf.featureSampleRatio * float64(fs))
		f.rng.Shuffle(len(fv), func(i, j int) { fv[i], fv[j] = fv[j], fv[i] })
	}

	best := math.MaxFloat64
	found := false
	var index int
	var value float32
	for _, j := range fv[:count] {
		impurity, v := f.impurity(w.data, w.feats[j])
		if best > impurity {
			found = true
			best = impurity
			index = j
			value = v
		}
	}
	if !found {
		return gbdtWork{}, gbdtWork{}, false
	}
	var nl, nr, nu int
	for _, p := range w.feats[index] {
		switch {
		case p.value == missingValue:
			nu++
			f.marks[p.index] = 0
		case p.value < value:
			nl++
			f.marks[p.index] = 1
		default:
			nr++
			f.marks[p.index] = 2
		}
	}
	empty := 0
	for _, k := range []int{nl, nr, nu} {
		if k == 0 {
			empty++
		}
	}
	if empty >= 2 {
		return gbdtWork{}, gbdtWork{}, false
	}
	node.featureIndex = index
	node.featureValue = value

	left = gbdtWork{left: true, depth: w.depth + 1, data: make([]int32, 0, nl), feats: make([][]gbdtPair, fs)}
	right = gbdtWork{depth: w.depth + 1, data: make([]int32, 0, nr), feats: make([][]gbdtPair, fs)}
	for _, p := range w.feats[index] {
		switch f.marks[p.index] {
		case 1:
			left.data = append(left.data, p.index)
		case 2:
			right.data = append(right.data, p.index)
		}
	}
	for j := range fs {
		left.feats[j], right.feats[j] = f.partition(w.feats[j], nl, nr)
	}
	if w.resid != nil {
		left.resid, right.resid = f.partition(w.resid, nl, nr)
	}
	return left, right, true
}

// partition splits a sorted list by the marks of split, keeping order
// and dropping the samples of neither child.
func (f *gbdtFitter) partition(list []gbdtPair, nl, nr int) (l, r []gbdtPair) {
	l, r = make([]gbdtPair, 0, nl), make([]gbdtPair, 0, nr)
	for _, p := range list {
		switch f.marks[p.index] {
		case 1:
			l = append(l, p)
		case 2:
			r = append(r, p)
		}
	}
	return l, r
}

// impurity is gbdt-rs's get_impurity for one feature: the best impurity
// of a split between two distinct values of the feature (MaxFloat64 when
// there is none) and the value to split at.
func (f *gbdtFitter) impurity(data []int32, sorted []gbdtPair) (float64, float32) {
	impurity := math.MaxFloat64
	var value float32 = missingValue
	var s, ss, c float64
	unknown := 0
	for _, p := range sorted {
		if p.value != missingValue {
			break
		}
		s += f.cs[p.index]
		ss += f.css[p.index]
		c += f.cc[p.index]
		unknown++
	}
	if unknown == len(sorted) {
		return impurity, value
	}
	fitness0 := 0.0
	if c > 1 {
		fitness0 = ss - s*s/c
	}
	if fitness0 < 0 {
		fitness0 = 0
	}
	var sumS, sumSS, sumC float64
	for _, i := range data {
		sumS += f.cs[i]
		sumSS += f.css[i]
		sumC += f.cc[i]
	}
	rs, rss, rc := sumS-s, sumSS-ss, sumC-c
	var ls, lss, lc float64
	for k := unknown; k < len(sorted)-1; k++ {
		p, next := sorted[k], sorted[k+1]
		s, ss, c := f.cs[p.index], f.css[p.index], f.cc[p.index]
		ls += s
		lss += ss
		lc += c
		rs -= s
		rss -= ss
		rc -= c
		if almostEqual(p.value, next.value) {
			continue
		}
		fitness1 := 0.0
		if lc > 1 {
			fitness1 = lss - ls*ls/lc
		}
		if fitness1 < 0 {
			fitness1 = 0
		}
		fitness2 := 0.0
		if rc > 1 {
			fitness2 = rss - rs*rs/rc
		}
		if fitness2 < 0 {
			fitness2 = 0
		}
		if fitness := fitness0 + fitness1 + fitness2; impurity > fitness {
			impurity = fitness
			value = (p.value + next.value) / 2
		}
	}
	return impurity, value
}
