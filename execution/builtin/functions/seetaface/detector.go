package seetaface

import (
	"context"
	"fmt"
	"math"
	"slices"
)

// Options are the detector's parameters, with rustface's names and
// defaults (DefaultOptions).
type Options struct {
	// StepX and StepY are the strides of the sliding window over each
	// pyramid level, in pixels of that level. Both must be positive.
	StepX, StepY int
	// MinFaceSize is validated (at least 20) but, as in rustface, not
	// used: the pyramid always starts at the full image.
	MinFaceSize int
	// MaxFaceSize, when positive, bounds the largest face searched for;
	// zero or negative means the image's smaller side.
	MaxFaceSize int
	// PyramidScaleFactor is the ratio between adjacent pyramid levels,
	// in [0.01, 0.99].
	PyramidScaleFactor float32
	// ScoreThresh is the smallest score of a reported face; it must be
	// positive.
	ScoreThresh float64
}

// DefaultOptions returns rustface's defaults: steps of 4, minimum face
// 20, no maximum, pyramid scale 0.8 and score threshold 3.85.
func DefaultOptions() Options {
	return Options{StepX: 4, StepY: 4, MinFaceSize: 20, PyramidScaleFactor: 0.8, ScoreThresh: 3.85}
}

// MinWindowSize is the smallest window and minimum face size rustface
// accepted.
const MinWindowSize = 20

// Validate reports the first option rustface would have refused (with a
// panic).
func (o Options) Validate() error {
	switch {
	case o.StepX <= 0 || o.StepY <= 0:
		return fmt.Errorf("seetaface: illegal slide window step (%d, %d): must be positive", o.StepX, o.StepY)
	case o.MinFaceSize < MinWindowSize:
		return fmt.Errorf("seetaface: illegal min face size %d: must be at least %d", o.MinFaceSize, MinWindowSize)
	case !(o.PyramidScaleFactor >= 0.01 && o.PyramidScaleFactor <= 0.99):
		return fmt.Errorf("seetaface: illegal pyramid scale factor %v: must be in [0.01, 0.99]", o.PyramidScaleFactor)
	case !(o.ScoreThresh > 0) || math.IsInf(o.ScoreThresh, 0):
		return fmt.Errorf("seetaface: illegal score threshold %v: must be positive", o.ScoreThresh)
	}
	return nil
}

// Rect is a face's bounding box in image pixels; X and Y may be negative
// and the box may extend past the image.
type Rect struct {
	X, Y          int32
	Width, Height uint32
}

// Face is one detection.
type Face struct {
	BBox Rect
	// Score is the sum of the scores merged into this detection by
	// non-maximum suppression.
	Score float64
}

// Detect finds frontal faces in img with the FuSt cascade of m and
// returns those with Score ≥ o.ScoreThresh, in rustface's order (that of
// the last suppression: by the score before merging). It returns
// ctx.Err() when ctx ends during the search.
func (m *Model) Detect(ctx context.Context, img *Gray, o Options) ([]Face, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := img.check(); err != nil {
		return nil, err
	}
	if m == nil || len(m.hierarchies) == 0 {
		return nil, fmt.Errorf("%w: empty model; use ParseModel or DefaultModel", ErrModel)
	}
	d := &detection{model: m, opts: o}
	faces, err := d.run(ctx, img)
	if err != nil {
		return nil, err
	}
	out := faces[:0]
	for _, f := range faces {
		if f.Score >= o.ScoreThresh {
			out = append(out, f)
		}
	}
	return out, nil
}

// detection holds the scratch state of one Detect call.
type detection struct {
	model *Model
	opts  Options
	lab   labMap
	surf  surfMap
	mlp   mlpBuffers
	// wnd holds a proposal's pixels scaled to the window.
	wnd    [windowSize * windowSize]uint8
	scaled []uint8
}

func (d *detection) run(ctx context.Context, img *Gray) ([]Face, error) {
	w, h := img.Width, img.Height
	minImg := min(w, h)
	if d.opts.MaxFaceSize > 0 {
		minImg = min(minImg, d.opts.MaxFaceSize)
	}
	minScale := float32(windowSize) / float32(minImg)
	step := d.opts.PyramidScaleFactor

	hier := d.model.hierarchies
	first := len(hier[0])
	proposals := make([][]Face, first)
	nms := make([][]Face, first)

	// Stage 1: slide the window over every pyramid level, from the full
	// image down, with the first hierarchy's LAB classifiers.
	for scale := float32(1); scale >= minScale; scale *= step {
		sw := int(float32(w) * scale)
		sh := int(float32(h) * scale)
		if sw < windowSize || sh < windowSize {
			// rustface wrapped around here; nothing fits the window.
			break
		}
		d.scaled = grow(d.scaled, sw*sh)
		resize(img.Pix, w, h, d.scaled, sw, sh)
		d.lab.compute(d.scaled, sw, sh)
		size := uint32(float32(windowSize)/scale + 0.5)
		for y := 0; y <= sh-windowSize; y += d.opts.StepY {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			by := int32(float32(y)/scale + 0.5)
			for x := 0; x <= sw-windowSize; x += d.opts.StepX {
				for e, en := range hier[0] {
					ok, score := en.lab.classify(&d.lab, x, y)
					if !ok {
						continue
					}
					proposals[e] = append(proposals[e], Face{
						BBox:  Rect{X: int32(float32(x)/scale + 0.5), Y: by, Width: size, Height: size},
						Score: float64(score),
					})
				}
			}
		}
	}
	for e := range first {
		var err error
		if nms[e], err = suppress(ctx, proposals[e], nms[e], 0.8); err != nil {
			return nil, err
		}
		proposals[e] = proposals[e][:0]
	}

	// Later hierarchies: refine the surviving windows on the full image
	// with the MLP chains. The slot bookkeeping mirrors rustface's,
	// including that a stage's suppression overwrites the slot's entry in
	// nms, which later entries of the same hierarchy read.
	var bufIdx []int
	for i := 1; i < len(hier); i++ {
		if len(bufIdx) < len(hier[i]) {
			bufIdx = append(bufIdx, make([]int, len(hier[i])-len(bufIdx))...)
		}
		for e, en := range hier[i] {
			r := en.wndSrc[0]
			bufIdx[e] = r
			proposals[r] = proposals[r][:0]
			for _, k := range en.wndSrc {
				proposals[r] = append(proposals[r], nms[k]...)
			}
			for k, c := range en.mlps {
				kept, err := d.refine(ctx, img, c, proposals[r])
				if err != nil {
					return nil, err
				}
				proposals[r] = kept
				thresh := float32(0.8)
				switch {
				case k < len(en.mlps)-1:
				case i == len(hier)-1:
					thresh = 0.3
				default:
					// The last stage of an inner hierarchy passes its
					// boxes on unsuppressed.
					continue
				}
				if nms[r], err = suppress(ctx, proposals[r], nms[r], thresh); err != nil {
					return nil, err
				}
				proposals[r] = append(proposals[r][:0], nms[r]...)
			}
		}
		for j := range hier[i] {
			nms[j] = append(nms[j][:0:0], proposals[bufIdx[j]]...)
		}
	}
	return slices.Clone(nms[0]), nil
}

// refine runs MLP stage c on every box, keeping (in order, in place) the
// boxes it accepts, moved and resized by the network's corrections and
// re-scored.
func (d *detection) refine(ctx context.Context, img *Gray, c *mlpClassifier, boxes []Face) ([]Face, error) {
	kept := 0
	for m := range boxes {
		if m%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		b := &boxes[m].BBox
		if int64(b.X)+int64(b.Width) <= 0 || int64(b.Y)+int64(b.Height) <= 0 {
			continue
		}
		if !d.window(img, b) {
			continue
		}
		d.surf.compute(d.wnd[:], windowSize, windowSize)
		ok, out := c.classify(&d.surf, &d.mlp)
		if !ok {
			continue
		}
		x, y := float32(b.X), float32(b.Y)
		w, h := float32(b.Width), float32(b.Height)
		// Every product is converted explicitly so that no
		// multiply-add is fused: rustface rounded each step to float32.
		size := floor32(float32((float32(out[3]*2)-1)*w) + w + 0.5)
		nx := floor32(float32((float32(out[1]*2)-1)*w) + x + float32((w-size)*0.5) + 0.5)
		ny := floor32(float32((float32(out[2]*2)-1)*h) + y + float32((h-size)*0.5) + 0.5)
		sz := satU32(size)
		boxes[kept] = Face{BBox: Rect{X: satI32(nx), Y: satI32(ny), Width: sz, Height: sz}, Score: float64(out[0])}
		kept++
	}
	return boxes[:kept], nil
}

// window scales the box's pixels (zero outside the image) to the window
// size, as rustface did by copying the box into a padded buffer and
// resizing it; here the pixels are read in place. Like rustface it then
// moves a box that starts left of or above the image to 0 on that axis.
// It reports false for a box narrower or lower than two pixels, which
// rustface could not scale (it read out of bounds).
func (d *detection) window(img *Gray, b *Rect) bool {
	bw, bh := int64(b.Width), int64(b.Height)
	if bw < 2 || bh < 2 {
		return false
	}
	x0, y0 := int64(b.X), int64(b.Y)
	W, H := int64(img.Width), int64(img.Height)
	inside := x0 >= 0 && y0 >= 0 && x0+bw <= W && y0+bh <= H
	at := func(x, y int64) float64 {
		x += x0
		y += y0
		if x < 0 || y < 0 || x >= W || y >= H {
			return 0
		}
		return float64(img.Pix[y*W+x])
	}
	if bw == windowSize && bh == windowSize {
		for y := range int64(windowSize) {
			for x := range int64(windowSize) {
				d.wnd[y*windowSize+x] = uint8(at(x, y))
			}
		}
	} else {
		// The source column and weight of each window column, and the
		// same for rows: the arithmetic of rustface's resize_image.
		var nx, ny [windowSize]int64
		var wx, wy [windowSize]float64
		xScale := float64(bw) / windowSize
		yScale := float64(bh) / windowSize
		for i := range windowSize {
			xs := xScale * float64(i)
			nx[i] = min(int64(xs), bw-2)
			wx[i] = xs - float64(nx[i])
			ys := yScale * float64(i)
			ny[i] = min(int64(ys), bh-2)
			wy[i] = ys - float64(ny[i])
		}
		for y := range windowSize {
			out := d.wnd[y*windowSize : (y+1)*windowSize]
			if inside {
				row0 := img.Pix[(y0+ny[y])*W+x0:]
				row1 := img.Pix[(y0+ny[y]+1)*W+x0:]
				for x := range out {
					c := nx[x]
					top := float64((1-wx[x])*float64(row0[c])) + float64(wx[x]*float64(row0[c+1]))
					bottom := float64((1-wx[x])*float64(row1[c])) + float64(wx[x]*float64(row1[c+1]))
					out[x] = uint8(float64((1-wy[y])*top) + float64(wy[y]*bottom))
				}
				continue
			}
			for x := range out {
				c, r := nx[x], ny[y]
				top := float64((1-wx[x])*at(c, r)) + float64(wx[x]*at(c+1, r))
				bottom := float64((1-wx[x])*at(c, r+1)) + float64(wx[x]*at(c+1, r+1))
				out[x] = uint8(float64((1-wy[y])*top) + float64(wy[y]*bottom))
			}
		}
	}
	if b.X < 0 {
		b.X = 0
	}
	if b.Y < 0 {
		b.Y = 0
	}
	return true
}

func floor32(v float32) float32 { return float32(math.Floor(float64(v))) }

// satI32 and satU32 convert as Rust's "as" did: saturating, NaN to 0.
func satI32(v float32) int32 {
	switch {
	case v != v:
		return 0
	case v <= math.MinInt32:
		return math.MinInt32
	case v >= math.MaxInt32:
		return math.MaxInt32
	}
	return int32(v)
}

func satU32(v float32) uint32 {
	switch {
	case !(v > 0):
		return 0
	case v >= math.MaxUint32:
		return math.MaxUint32
	}
	return uint32(v)
}

// suppress is rustface's non-maximum suppression: boxes are sorted by
// descending score (stably); each box not yet merged is kept, and every
// later box overlapping it with an intersection over union above thresh is
// merged into it, adding its score. The kept boxes go to dst, which is
// returned. It takes time quadratic in the number of boxes, so it looks
// at ctx as it goes.
func suppress(ctx context.Context, boxes, dst []Face, thresh float32) ([]Face, error) {
	dst = dst[:0]
	slices.SortStableFunc(boxes, func(a, b Face) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	merged := make([]bool, len(boxes))
	for i := range boxes {
		if merged[i] {
			continue
		}
		if len(dst)%64 == 63 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		merged[i] = true
		keep := boxes[i]
		b := keep.BBox
		area1 := float32(b.Width * b.Height)
		x2 := b.X + int32(b.Width) - 1
		y2 := b.Y + int32(b.Height) - 1
		for j := i + 1; j < len(boxes); j++ {
			if merged[j] {
				continue
			}
			o := boxes[j].BBox
			x := max(b.X, o.X)
			y := max(b.Y, o.Y)
			w := min(x2, o.X+int32(o.Width)-1) - x + 1
			h := min(y2, o.Y+int32(o.Height)-1) - y + 1
			if w <= 0 || h <= 0 {
				continue
			}
			area2 := float32(o.Width * o.Height)
			inter := float32(w * h)
			if inter/(area1+area2-inter) > thresh {
				merged[j] = true
				keep.Score += boxes[j].Score
			}
		}
		dst = append(dst, keep)
	}
	return dst, nil
}
