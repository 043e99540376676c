package seetaface

import "math"

// mlpBuffers are the scratch vectors of MLP evaluation, reused across
// windows.
type mlpBuffers struct {
	input, a, b []float32
}

// classify evaluates the network on the window whose SURF map is m and
// returns whether its score passes the threshold, and the output vector
// (score, then x, y and size corrections), which stays valid until the
// next call.
func (c *mlpClassifier) classify(m *surfMap, buf *mlpBuffers) (bool, []float32) {
	buf.input = grow(buf.input, len(c.featureIDs)*featureDim)
	for i, id := range c.featureIDs {
		m.featureVector(featurePool[id-1], buf.input[i*featureDim:(i+1)*featureDim])
	}
	in := buf.input
	for _, l := range c.layers {
		buf.a = grow(buf.a, l.out)
		out := buf.a
		l.compute(in, out)
		// The next layer reads what this one wrote; swap so that a
		// layer never writes over its own input.
		buf.a, buf.b = buf.b, buf.a
		in = out
	}
	return in[0] > c.thresh, in
}

// compute sets out[o] = act(Σ in[i]·w[o][i] + bias[o]) with float32
// products summed in input order, as rustface did; the explicit
// conversions keep the compiler from fusing multiply and add. Four
// outputs are summed side by side, each in its own order, which changes
// no result.
func (l *mlpLayer) compute(in, out []float32) {
	in = in[:l.in]
	o := 0
	for ; o+4 <= l.out; o += 4 {
		w0 := l.weights[o*l.in : (o+1)*l.in]
		w1 := l.weights[(o+1)*l.in : (o+2)*l.in]
		w2 := l.weights[(o+2)*l.in : (o+3)*l.in]
		w3 := l.weights[(o+3)*l.in : (o+4)*l.in]
		var s0, s1, s2, s3 float32
		for i, x := range in {
			s0 += float32(x * w0[i])
			s1 += float32(x * w1[i])
			s2 += float32(x * w2[i])
			s3 += float32(x * w3[i])
		}
		out[o] = l.activate(s0 + l.biases[o])
		out[o+1] = l.activate(s1 + l.biases[o+1])
		out[o+2] = l.activate(s2 + l.biases[o+2])
		out[o+3] = l.activate(s3 + l.biases[o+3])
	}
	for ; o < l.out; o++ {
		w := l.weights[o*l.in : (o+1)*l.in]
		var s float32
		for i, x := range in {
			s += float32(x * w[i])
		}
		out[o] = l.activate(s + l.biases[o])
	}
}

// activate is the layer's activation: ReLU, or the sigmoid in float32
// for the output layer.
func (l *mlpLayer) activate(s float32) float32 {
	if l.sigmoid {
		return 1 / (1 + float32(math.Exp(float64(-s))))
	}
	if s > 0 {
		return s
	}
	return 0
}
