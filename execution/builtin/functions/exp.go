package functions

import "math"

// expRounded returns e^x correctly rounded to float64 (barring results in
// the subnormal range, which no caller produces).
//
// Teaclave's logistic regression called the C library's exp, which rounds
// correctly in practice; Go's math.Exp is accurate to within one ulp but
// not always correctly rounded, and a last-bit difference in one sigmoid
// compounds over the gradient-descent iterations into different model
// bytes. So e^x is computed here in double-double arithmetic (about 100
// bits) and rounded once: x = k·ln2 + r, e^r = (e^(r/256))^256 with a
// Taylor series for the small power. It costs 20 to 30 times math.Exp
// (docs/benchmarks-builtins.md).
func expRounded(x float64) float64 {
	if math.IsNaN(x) || x > 709.78 || x < -708 {
		return math.Exp(x) // overflow, underflow and NaN as math.Exp does
	}
	// ln2 split in three float64 parts (160 bits).
	const (
		ln2Hi  = 0x1.62e42fefa39efp-1
		ln2Lo  = 0x1.abc9e3b39803fp-56
		ln2Lo2 = 0x1.7b57a079a1934p-111
	)
	k := math.Round(x / ln2Hi)
	// r = x - k·ln2, exact to far below float64's precision: k has at
	// most 11 bits, so each product is exact in double-double.
	r := ddSub(dd{x, 0}, twoProd(k, ln2Hi))
	r = ddSub(r, twoProd(k, ln2Lo))
	r = ddSub(r, dd{k * ln2Lo2, 0})

	const squarings = 8
	r = dd{r.hi / (1 << squarings), r.lo / (1 << squarings)} // exact
	// |r| < 2^-9.4. e^r = 1 + r(1 + r/2(1 + r/3(1 + r/4(1 + t)))): t, at
	// most 2^-11.7, needs only float64 (its error ends up below 2^-104);
	// the four outer steps are done in double-double.
	t := 0.0
	for i := 12.0; i >= 5; i-- {
		t = r.hi / i * (1 + t)
	}
	p := quickTwoSum(1, t)
	for i := 4.0; i >= 1; i-- {
		p = ddAdd(dd{1, 0}, ddDiv(ddMul(r, p), i))
	}
	for range squarings {
		p = ddMul(p, p)
	}
	return math.Ldexp(p.hi+p.lo, int(k))
}

// dd is an unevaluated sum hi + lo with |lo| ≤ ulp(hi)/2.
type dd struct{ hi, lo float64 }

func twoSum(a, b float64) (s, e float64) {
	s = a + b
	bb := s - a
	e = (a - (s - bb)) + (b - bb)
	return s, e
}

func quickTwoSum(a, b float64) dd {
	s := a + b
	return dd{s, b - (s - a)}
}

func twoProd(a, b float64) dd {
	p := a * b
	return dd{p, math.FMA(a, b, -p)}
}

func ddAdd(x, y dd) dd {
	s, e := twoSum(x.hi, y.hi)
	f, g := twoSum(x.lo, y.lo)
	e += f
	s1 := quickTwoSum(s, e)
	return quickTwoSum(s1.hi, s1.lo+g)
}

func ddSub(x, y dd) dd { return ddAdd(x, dd{-y.hi, -y.lo}) }

func ddMul(x, y dd) dd {
	p := twoProd(x.hi, y.hi)
	return quickTwoSum(p.hi, p.lo+(x.hi*y.lo+x.lo*y.hi))
}

// ddDiv divides by a small integer d.
func ddDiv(x dd, d float64) dd {
	q := x.hi / d
	p := twoProd(q, d)
	rem := ((x.hi - p.hi) - p.lo) + x.lo
	return quickTwoSum(q, rem/d)
}
