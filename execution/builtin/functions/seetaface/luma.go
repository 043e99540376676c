package seetaface

import (
	"image"
	"image/color"
)

// Luma weights of the image crate (0.23), which Teaclave used to turn the
// decoded picture into rustface's input: ITU-R BT.709, in float32.
const (
	lumaR float32 = 0.2126
	lumaG float32 = 0.7152
	lumaB float32 = 0.0722
)

// luma is the image crate's rgb_to_luma: the weighted sum in float32,
// truncated (each product rounded on its own; no fused multiply-add).
func luma(r, g, b uint8) uint8 {
	l := float32(lumaR*float32(r)) + float32(lumaG*float32(g))
	l += float32(lumaB * float32(b))
	if l >= 255 {
		return 255
	}
	return uint8(l)
}

// GrayFromImage converts a decoded image to the detector's input the way
// Teaclave did (image crate's to_luma): 8-bit RGB, then BT.709 luma in
// float32, truncated. A grayscale image is taken as it is. Colour
// conversion of YCbCr pictures uses Go's image/color, whose rounding may
// differ from the jpeg-decoder crate by one level.
func GrayFromImage(img image.Image) *Gray {
	bounds := img.Bounds()
	w, h := bounds.Dx(), bounds.Dy()
	g := &Gray{Width: w, Height: h, Pix: make([]uint8, w*h)}
	switch src := img.(type) {
	case *image.Gray:
		for y := range h {
			copy(g.Pix[y*w:(y+1)*w], src.Pix[y*src.Stride:y*src.Stride+w])
		}
	case *image.YCbCr:
		for y := range h {
			py := bounds.Min.Y + y
			for x := range w {
				px := bounds.Min.X + x
				yi, ci := src.YOffset(px, py), src.COffset(px, py)
				r, gg, b := color.YCbCrToRGB(src.Y[yi], src.Cb[ci], src.Cr[ci])
				g.Pix[y*w+x] = luma(r, gg, b)
			}
		}
	default:
		for y := range h {
			for x := range w {
				c := color.NRGBAModel.Convert(img.At(bounds.Min.X+x, bounds.Min.Y+y)).(color.NRGBA)
				g.Pix[y*w+x] = luma(c.R, c.G, c.B)
			}
		}
	}
	return g
}
