package seetaface

import "math"

// surfChannels is the number of gradient channels per pixel: the signed
// and absolute horizontal gradient, split by the sign of the vertical
// one, and the same for the vertical gradient split by the horizontal.
const surfChannels = 8

// featureDim is the length of every feature vector of the pool: 2×2
// cells of surfChannels sums.
const featureDim = 2 * 2 * surfChannels

// surfFeature is one patch of the 40×40 window divided into cellsX×cellsY
// cells.
type surfFeature struct {
	x, y, w, h     int
	cellsX, cellsY int
}

// featurePool lists the features the MLP classifiers refer to by id
// (1-based). It is computed once from constants and never changes.
var featurePool = buildFeaturePool()

func buildFeaturePool() []surfFeature {
	// Patch formats: aspect width:height, each split into 2×2 cells.
	formats := [][2]int{{1, 1}, {1, 2}, {2, 1}, {2, 3}, {3, 2}}
	const (
		sample   = windowSize
		minPatch = 16
		moveStep = 16
		cells    = 2
	)
	var pool []surfFeature
	for _, f := range formats {
		fw, fh := f[0], f[1]
		for h := minPatch; h <= sample; h++ {
			if h%cells != 0 || h%fh != 0 {
				continue
			}
			w := h / fh * fw
			if w%cells != 0 || w < minPatch || w > sample {
				continue
			}
			for y := 0; y <= sample-h; y += moveStep {
				for x := 0; x <= sample-w; x += moveStep {
					pool = append(pool, surfFeature{x: x, y: y, w: w, h: h, cellsX: cells, cellsY: cells})
				}
			}
		}
	}
	return pool
}

// surfMap holds the gradient channels of one 40×40 window as an integral
// image with a zero row and column in front, (w+1)×(h+1)×surfChannels.
type surfMap struct {
	width, height int
	intImg        []int32
}

// compute builds the map of a w×h image (w, h ≥ 2). The gradients are
// rustface's: central differences inside the image and doubled one-sided
// differences on its borders.
func (m *surfMap) compute(pix []uint8, w, h int) {
	m.width, m.height = w, h
	stride := (w + 1) * surfChannels
	m.intImg = grow(m.intImg, (h+1)*stride)
	ii := m.intImg
	clear(ii[:stride])
	for r := range h {
		cur := pix[r*w : (r+1)*w]
		up, down, yMul := cur, cur, int32(2)
		switch {
		case r == 0:
			down = pix[w : 2*w]
		case r == h-1:
			up = pix[(r-1)*w : r*w]
		default:
			up, down, yMul = pix[(r-1)*w:r*w], pix[(r+1)*w:(r+2)*w], 1
		}
		prev := ii[r*stride : (r+1)*stride]
		row := ii[(r+1)*stride : (r+2)*stride]
		clear(row[:surfChannels])
		var s0, s1, s2, s3, s4, s5, s6, s7 int32
		for c := range w {
			var dx int32
			switch {
			case c == 0:
				dx = (int32(cur[1]) - int32(cur[0])) * 2
			case c == w-1:
				dx = (int32(cur[c]) - int32(cur[c-1])) * 2
			default:
				dx = int32(cur[c+1]) - int32(cur[c-1])
			}
			dy := (int32(down[c]) - int32(up[c])) * yMul
			// The horizontal gradient goes to channels 0-1 or 2-3 by the
			// sign of the vertical one, and the vertical gradient to 4-5
			// or 6-7 by the sign of the horizontal one (branch-free:
			// a mask of all ones when the sign is negative).
			my, mx := dy>>31, dx>>31
			ax, ay := (dx^mx)-mx, (dy^my)-my
			s0 += dx &^ my
			s1 += ax &^ my
			s2 += dx & my
			s3 += ax & my
			s4 += dy &^ mx
			s5 += ay &^ mx
			s6 += dy & mx
			s7 += ay & mx
			o := (c + 1) * surfChannels
			p, q := prev[o:o+surfChannels:o+surfChannels], row[o:o+surfChannels:o+surfChannels]
			q[0], q[1], q[2], q[3] = p[0]+s0, p[1]+s1, p[2]+s2, p[3]+s3
			q[4], q[5], q[6], q[7] = p[4]+s4, p[5]+s5, p[6]+s6, p[7]+s7
		}
	}
}

// featureVector writes the normalized vector of feature f (for the
// window at the map's origin) to dst (featureDim values): per cell, row by
// row, the surfChannels channel sums, divided by the vector's Euclidean
// norm. The squares wrap around in 32 bits as rustface's did.
func (m *surfMap) featureVector(f surfFeature, dst []float32) {
	stride := (m.width + 1) * surfChannels
	cw, chh := f.w/f.cellsX, f.h/f.cellsY
	var raw [featureDim]int32
	k := 0
	for cy := range f.cellsY {
		y0 := f.y + cy*chh
		y1 := y0 + chh
		for cx := range f.cellsX {
			x0 := f.x + cx*cw
			x1 := x0 + cw
			tl := y0*stride + x0*surfChannels
			tr := y0*stride + x1*surfChannels
			bl := y1*stride + x0*surfChannels
			br := y1*stride + x1*surfChannels
			for c := range surfChannels {
				raw[k] = m.intImg[br+c] - m.intImg[tr+c] - m.intImg[bl+c] + m.intImg[tl+c]
				k++
			}
		}
	}
	var prod float64
	for _, v := range raw[:k] {
		prod += float64(v * v)
	}
	if prod == 0 {
		clear(dst[:k])
		return
	}
	norm := float32(math.Sqrt(prod))
	for i, v := range raw[:k] {
		dst[i] = float32(v) / norm
	}
}
