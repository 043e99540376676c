package functions

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestAppendDebug(t *testing.T) {
	for _, tc := range []struct {
		x    float64
		want string
	}{
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1, "1.0"},
		{-2.5, "-2.5"},
		{0.0001, "0.0001"},
		{0.00009999, "9.999e-5"},
		{1e-5, "1e-5"},
		{-1.5e-7, "-1.5e-7"},
		{1e-300, "1e-300"},
		{1e15, "1000000000000000.0"},
		{9999999999999998, "9999999999999998.0"},
		{1e16, "1e16"},
		{1.2345e20, "1.2345e20"},
		{-2.4154563605850874, "-2.4154563605850874"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
	} {
		if got := string(appendDebug(nil, tc.x)); got != tc.want {
			t.Errorf("appendDebug(%v) = %q, want %q", tc.x, got, tc.want)
		}
	}
}

func TestAppendJSONFloat(t *testing.T) {
	for _, tc := range []struct {
		x    float64
		want string
	}{
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{0.3, "0.3"},
		{100, "100.0"},
		{-0.7217673215572631, "-0.7217673215572631"},
		{0.00001, "0.00001"},
		{0.000012, "0.000012"},
		{1e-6, "1e-6"},
		{-1.5e-7, "-1.5e-7"},
		{1e15, "1000000000000000.0"},
		{1e16, "1e16"},
		{1.234e16, "1.234e16"},
		{1.2345678901234568e17, "1.2345678901234568e17"},
		{5e-324, "5e-324"},
		{math.NaN(), "null"},
		{math.Inf(1), "null"},
	} {
		if got := string(appendJSONFloat(nil, tc.x)); got != tc.want {
			t.Errorf("appendJSONFloat(%v) = %q, want %q", tc.x, got, tc.want)
		}
	}
}

func TestAppendFixed(t *testing.T) {
	for _, tc := range []struct {
		x    float64
		prec int
		want string
	}{
		{float64(float32(1.0000264645)), 10, "1.0000264645"},
		{2, 10, "2.0000000000"},
		{0.75301, 4, "0.7530"},
		// A tie at the last decimal rounds to even, as Rust's exact
		// formatting did when at least one digit is kept.
		{0.00048828125, 10, "0.0004882812"},
		{0.03125, 4, "0.0312"},
		{-1e-12, 10, "-0.0000000000"},
		{math.NaN(), 4, "NaN"},
		{math.Inf(-1), 4, "-inf"},
	} {
		if got := string(appendFixed(nil, tc.x, tc.prec)); got != tc.want {
			t.Errorf("appendFixed(%v, %d) = %q, want %q", tc.x, tc.prec, got, tc.want)
		}
	}
}

func TestParseFloat(t *testing.T) {
	for _, tc := range []struct {
		s    string
		bits int
		want float64
		ok   bool
	}{
		{"1.5", 64, 1.5, true},
		{"+.5", 64, 0.5, true},
		{"5.", 64, 5, true},
		{"1e400", 64, math.Inf(1), true},
		{"-1e400", 64, math.Inf(-1), true},
		{"1e-400", 64, 0, true},
		{"inf", 64, math.Inf(1), true},
		{"-Infinity", 64, math.Inf(-1), true},
		{"3.4028236e38", 32, math.Inf(1), true},
		{"0.1", 32, float64(float32(0.1)), true},
		{"0x1p-2", 64, 0, false},
		{"1_000", 64, 0, false},
		{" 1", 64, 0, false},
		{"1,5", 64, 0, false},
		{"", 64, 0, false},
	} {
		got, err := parseFloat(tc.s, tc.bits)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseFloat(%q, %d) = %v, %v; want %v, ok %v", tc.s, tc.bits, got, err, tc.want, tc.ok)
		}
	}
	for _, s := range []string{"nan", "NaN", "-nan", "+NAN"} {
		if v, err := parseFloat(s, 64); err != nil || !math.IsNaN(v) {
			t.Errorf("parseFloat(%q) = %v, %v; want NaN", s, v, err)
		}
	}
	if _, err := parseFloat("", 64); err == nil || err.Error() != "cannot parse float from empty string" {
		t.Errorf("empty: %v", err)
	}
	if _, err := parseFloat("abc", 64); err == nil || err.Error() != "invalid float literal" {
		t.Errorf("abc: %v", err)
	}
}

// bigExp returns e^x correctly rounded, computed with 320-bit floats.
func bigExp(x float64) float64 {
	const prec = 320
	const halvings = 12
	r := new(big.Float).SetPrec(prec).SetFloat64(x)
	r.SetMantExp(r, -halvings)
	sum := new(big.Float).SetPrec(prec).SetInt64(1)
	term := new(big.Float).SetPrec(prec).SetInt64(1)
	for i := int64(1); i < 60; i++ {
		term.Mul(term, r)
		term.Quo(term, new(big.Float).SetPrec(prec).SetInt64(i))
		sum.Add(sum, term)
	}
	for range halvings {
		sum.Mul(sum, sum)
	}
	f, _ := sum.Float64()
	return f
}

// TestExpRounded checks expRounded against a 320-bit computation: every
// result must be the correctly rounded one. (math.Exp is not always.)
func TestExpRounded(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	xs := []float64{0, 1, -1, 0.5, 1e-300, -1e-10, 700, -700, 709.7, -707.9, math.Ln2, 10 * math.Ln2}
	for range 3000 {
		xs = append(xs, r.NormFloat64()*8)
	}
	for range 500 {
		xs = append(xs, (r.Float64()*2-1)*700)
	}
	goDiffers := 0
	for _, x := range xs {
		want := bigExp(x)
		if got := expRounded(x); got != want {
			t.Fatalf("expRounded(%v) = %v, want %v", x, got, want)
		}
		if math.Exp(x) != want {
			goDiffers++
		}
	}
	t.Logf("math.Exp differs from the correctly rounded value for %d of %d inputs", goDiffers, len(xs))
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 710, -746} {
		got, want := expRounded(x), math.Exp(x)
		if !(got == want || math.IsNaN(got) && math.IsNaN(want)) {
			t.Errorf("expRounded(%v) = %v, want %v", x, got, want)
		}
	}
}

func FuzzAppendJSONFloat(f *testing.F) {
	for _, x := range []float64{0, 0.3, 1e-6, 1e16, -123.456, 5e-324, math.MaxFloat64} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return
		}
		for _, s := range []string{string(appendJSONFloat(nil, x)), string(appendDebug(nil, x))} {
			if v, err := strconv.ParseFloat(s, 64); err != nil || v != x {
				t.Fatalf("%q reads back as %v, %v; want %v", s, v, err, x)
			}
		}
	})
}
