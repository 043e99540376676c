package functions

import (
	"math"
	"strconv"
	"strings"
)

// The outputs Teaclave wrote are Rust's float formats; Go's differ in the
// details these functions restore.

// appendFixed appends x as Rust's "{:.prec}" wrote it: the exact value
// rounded to prec decimals (ties to even, like strconv), with Rust's
// spellings of the non-finite values.
func appendFixed(b []byte, x float64, prec int) []byte {
	switch {
	case math.IsNaN(x):
		return append(b, "NaN"...)
	case math.IsInf(x, 1):
		return append(b, "inf"...)
	case math.IsInf(x, -1):
		return append(b, "-inf"...)
	}
	return strconv.AppendFloat(b, x, 'f', prec, 64)
}

// appendDebug appends x as Rust's "{:?}" wrote an f64: the shortest digits
// that read back as x, a ".0" on whole numbers, and exponent notation
// written like "1e-5" or "1.5e16" (no "+", no padding) when
// 0 < |x| < 1e-4 or |x| ≥ 1e16.
func appendDebug(b []byte, x float64) []byte {
	switch {
	case math.IsNaN(x):
		return append(b, "NaN"...)
	case math.IsInf(x, 1):
		return append(b, "inf"...)
	case math.IsInf(x, -1):
		return append(b, "-inf"...)
	}
	if a := math.Abs(x); (a != 0 && a < 1e-4) || a >= 1e16 {
		s := strconv.FormatFloat(x, 'e', -1, 64)
		mant, exp, _ := strings.Cut(s, "e")
		b = append(b, mant...)
		b = append(b, 'e')
		return appendExponent(b, exp)
	}
	start := len(b)
	b = strconv.AppendFloat(b, x, 'f', -1, 64)
	if !strings.Contains(string(b[start:]), ".") {
		b = append(b, ".0"...)
	}
	return b
}

// appendExponent appends strconv's exponent ("+07", "-05") without the
// plus sign and the padding.
func appendExponent(b []byte, exp string) []byte {
	if exp[0] == '-' {
		b = append(b, '-')
	}
	exp = strings.TrimLeft(exp[1:], "0")
	if exp == "" {
		exp = "0"
	}
	return append(b, exp...)
}

// appendJSONFloat appends x as serde_json wrote an f64 (the ryu crate's
// format): the shortest digits, "1.0" for whole numbers, decimal notation
// while 1e-5 ≤ |x| < 1e16 and "1e-7" or "1.5e16" otherwise, and null for
// a value that is not finite.
func appendJSONFloat(b []byte, x float64) []byte { return appendShortest(b, x, 64) }

// appendJSONFloat32 appends x as serde_json wrote an f32: the shortest
// digits that read back as the float32 x, "1.0" for whole numbers,
// decimal notation while 1e-6 ≤ |x| < 1e13 and exponent notation
// otherwise, and null for a value that is not finite.
func appendJSONFloat32(b []byte, x float32) []byte { return appendShortest(b, float64(x), 32) }

// appendShortest is appendJSONFloat for a float64 (bits 64) or a float32
// (bits 32) held in x.
func appendShortest(b []byte, x float64, bits int) []byte {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return append(b, "null"...)
	}
	if x == 0 {
		if math.Signbit(x) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	if x < 0 {
		b = append(b, '-')
		x = -x
	}
	s := strconv.FormatFloat(x, 'e', -1, bits)
	mant, exp, _ := strings.Cut(s, "e")
	digits := strings.Replace(mant, ".", "", 1)
	e, _ := strconv.Atoi(exp)
	// x = 0.digits × 10^point. ryu writes an f32 in decimal notation
	// while 1e-6 ≤ |x| < 1e13.
	length, point := len(digits), e+1
	maxPoint, minPoint := 16, -5
	if bits == 32 {
		maxPoint, minPoint = 13, -6
	}
	switch {
	case length <= point && point <= maxPoint:
		b = append(b, digits...)
		for range point - length {
			b = append(b, '0')
		}
		return append(b, ".0"...)
	case 0 < point && point <= maxPoint:
		b = append(b, digits[:point]...)
		b = append(b, '.')
		return append(b, digits[point:]...)
	case minPoint < point && point <= 0:
		b = append(b, "0."...)
		for range -point {
			b = append(b, '0')
		}
		return append(b, digits...)
	default:
		b = append(b, digits[0])
		if length > 1 {
			b = append(b, '.')
			b = append(b, digits[1:]...)
		}
		b = append(b, 'e')
		return strconv.AppendInt(b, int64(point-1), 10)
	}
}
