package seetaface

import "fmt"

// Gray is an 8-bit grayscale image, row-major with no padding.
type Gray struct {
	Width, Height int
	Pix           []uint8
}

func (g *Gray) check() error {
	if g == nil || g.Width <= 0 || g.Height <= 0 {
		return fmt.Errorf("seetaface: empty image")
	}
	if int64(g.Width)*int64(g.Height) != int64(len(g.Pix)) {
		return fmt.Errorf("seetaface: image of %d×%d pixels has %d bytes", g.Width, g.Height, len(g.Pix))
	}
	return nil
}

// resize scales src (sw×sh) to dst (dw×dh) bilinearly, the way
// rustface's resize_image did: float64 source coordinates x·sw/dw, the
// top-left neighbour clamped to the second-last row and column, and the
// result truncated. Equal sizes copy. sw and sh must be at least 2 unless
// the sizes are equal.
func resize(src []uint8, sw, sh int, dst []uint8, dw, dh int) {
	if sw == dw && sh == dh {
		copy(dst, src[:sw*sh])
		return
	}
	xScale := float64(sw) / float64(dw)
	yScale := float64(sh) / float64(dh)
	for y := range dh {
		ys := yScale * float64(y)
		ny := min(int(ys), sh-2)
		wy := ys - float64(ny)
		row0 := src[ny*sw:]
		row1 := src[(ny+1)*sw:]
		out := dst[y*dw : (y+1)*dw]
		for x := range out {
			xs := xScale * float64(x)
			nx := min(int(xs), sw-2)
			wx := xs - float64(nx)
			d1, d2 := float64(row0[nx]), float64(row0[nx+1])
			d3, d4 := float64(row1[nx]), float64(row1[nx+1])
			top := float64((1-wx)*d1) + float64(wx*d2)
			bottom := float64((1-wx)*d3) + float64(wx*d4)
			out[x] = uint8(float64((1-wy)*top) + float64(wy*bottom))
		}
	}
}
