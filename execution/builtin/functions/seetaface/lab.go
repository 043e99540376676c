package seetaface

import "math"

// labStdDevThresh bounds the standard deviation of a window's pixels from
// below: a LAB classifier accepts only windows above it (flat windows are
// no faces).
const labStdDevThresh = 10.0

// labMap holds the locally assembled binary (LAB) features of one image:
// for each point, one bit per 3×3 block of its 9×9 neighbourhood telling
// whether the centre block's sum is at least that block's, plus the
// integral images of the pixels and their squares for the variance test.
// Buffers are reused from one pyramid level to the next.
type labMap struct {
	width, height int
	feat          []uint8
	rectSum       []int32
	intImg        []int32
	sqIntImg      []uint32
}

// compute builds the feature map of a w×h image (w, h ≥ 9). Sums wrap
// around in 32 bits as rustface's did; every window difference taken from
// them is still exact.
func (m *labMap) compute(pix []uint8, w, h int) {
	n := w * h
	m.width, m.height = w, h
	m.feat = grow(m.feat, n)
	m.rectSum = grow(m.rectSum, n)
	m.intImg = grow(m.intImg, n)
	m.sqIntImg = grow(m.sqIntImg, n)

	// Integral images (inclusive).
	ii, sq := m.intImg, m.sqIntImg
	var s int32
	var s2 uint32
	for x := range w {
		v := int32(pix[x])
		s += v
		s2 += uint32(v * v)
		ii[x], sq[x] = s, s2
	}
	for y := 1; y < h; y++ {
		s, s2 = 0, 0
		row := y * w
		for x := range w {
			v := int32(pix[row+x])
			s += v
			s2 += uint32(v * v)
			ii[row+x] = ii[row-w+x] + s
			sq[row+x] = sq[row-w+x] + s2
		}
	}

	// rectSum(r, c): the sum of the 3×3 block whose top-left is (r, c),
	// for r ≤ h-3 and c ≤ w-3.
	rs := m.rectSum
	for r := 0; r <= h-3; r++ {
		bottom := ii[(r+2)*w : (r+3)*w]
		out := rs[r*w : (r+1)*w]
		if r == 0 {
			out[0] = bottom[2]
			for c := 1; c <= w-3; c++ {
				out[c] = bottom[c+2] - bottom[c-1]
			}
			continue
		}
		top := ii[(r-1)*w : r*w]
		out[0] = bottom[2] - top[2]
		for c := 1; c <= w-3; c++ {
			out[c] = bottom[c+2] - top[c+2] - bottom[c-1] + top[c-1]
		}
	}

	// Feature bits, for r ≤ h-9 and c ≤ w-9. The centre block is at
	// (r+3, c+3); the bits go clockwise from the top-left block.
	row3, row6 := 3*w, 6*w
	for r := 0; r <= h-9; r++ {
		for c := 0; c <= w-9; c++ {
			i := r*w + c
			white := rs[i+row3+3]
			var v uint8
			if white >= rs[i] {
				v |= 0x80
			}
			if white >= rs[i+3] {
				v |= 0x40
			}
			if white >= rs[i+6] {
				v |= 0x20
			}
			if white >= rs[i+row3+6] {
				v |= 0x08
			}
			if white >= rs[i+row6+6] {
				v |= 0x01
			}
			if white >= rs[i+row6+3] {
				v |= 0x02
			}
			if white >= rs[i+row6] {
				v |= 0x04
			}
			if white >= rs[i+row3] {
				v |= 0x10
			}
			m.feat[i] = v
		}
	}
}

// stdDev returns the standard deviation of the pixels of the size×size
// window at (x, y).
func (m *labMap) stdDev(x, y, size int) float64 {
	w := m.width
	br := (y+size-1)*w + x + size - 1
	sum, sq := m.intImg[br], m.sqIntImg[br]
	if y > 0 {
		tr := (y-1)*w + x + size - 1
		sum -= m.intImg[tr]
		sq -= m.sqIntImg[tr]
	}
	if x > 0 {
		bl := (y+size-1)*w + x - 1
		sum -= m.intImg[bl]
		sq -= m.sqIntImg[bl]
	}
	if x > 0 && y > 0 {
		tl := (y-1)*w + x - 1
		sum += m.intImg[tl]
		sq += m.sqIntImg[tl]
	}
	area := float64(size * size)
	mean := float64(sum) / area
	m2 := float64(sq) / area
	return math.Sqrt(m2 - mean*mean)
}

// classify runs the boosted classifier on the window at (x, y): groups of
// labGroupSize weights are summed in float32 and the window is rejected as
// soon as the running score falls below the group's threshold.
func (c *labClassifier) classify(m *labMap, x, y int) (bool, float32) {
	var score float32
	positive := true
	base := y*m.width + x
	n := len(c.thresh)
	for i := 0; positive && i < n; {
		for range labGroupSize {
			v := m.feat[base+c.offY[i]*m.width+c.offX[i]]
			score += c.weights[i*labBins+int(v)]
			i++
		}
		positive = score >= c.thresh[i-1]
	}
	positive = positive && m.stdDev(x, y, windowSize) > labStdDevThresh
	return positive, score
}

// grow returns s resized to n elements, reusing its storage when it can.
func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}
