package functions

// Teaclave's logistic regression ran on rusty-machine and rulinalg, whose
// reductions are unrolled eight ways. Floating-point addition is not
// associative, so the same order is needed for the same bytes: a plain
// loop differs in the last bit of 17 of the 31 trained parameters of the
// fixture. The explicit float64 conversions keep the compiler from fusing
// a multiply and an add into one FMA (Go permits fusion; Rust did not
// fuse), which would change the rounding.

// dot is rulinalg's utils::dot: eight running sums over chunks of eight,
// combined as ((s+p0)+p4), ((s+p1)+p5), ((s+p2)+p6), ((s+p3)+p7), then the
// tail added in order.
func dot(u, v []float64) float64 {
	n := min(len(u), len(v))
	u, v = u[:n], v[:n]
	var s, p0, p1, p2, p3, p4, p5, p6, p7 float64
	for len(u) >= 8 {
		p0 = p0 + float64(u[0]*v[0])
		p1 = p1 + float64(u[1]*v[1])
		p2 = p2 + float64(u[2]*v[2])
		p3 = p3 + float64(u[3]*v[3])
		p4 = p4 + float64(u[4]*v[4])
		p5 = p5 + float64(u[5]*v[5])
		p6 = p6 + float64(u[6]*v[6])
		p7 = p7 + float64(u[7]*v[7])
		u, v = u[8:], v[8:]
	}
	s = s + p0 + p4
	s = s + p1 + p5
	s = s + p2 + p6
	s = s + p3 + p7
	for i := range u {
		s = s + float64(u[i]*v[i])
	}
	return s
}

// unrolledSum is rulinalg's utils::unrolled_sum (Vector::sum): like dot,
// but the pairs are added first: s + (p0+p4), and so on.
func unrolledSum(xs []float64) float64 {
	var s, p0, p1, p2, p3, p4, p5, p6, p7 float64
	for len(xs) >= 8 {
		p0 += xs[0]
		p1 += xs[1]
		p2 += xs[2]
		p3 += xs[3]
		p4 += xs[4]
		p5 += xs[5]
		p6 += xs[6]
		p7 += xs[7]
		xs = xs[8:]
	}
	s = s + (p0 + p4)
	s = s + (p1 + p5)
	s = s + (p2 + p6)
	s = s + (p3 + p7)
	for _, x := range xs {
		s += x
	}
	return s
}

// sigmoid is rusty-machine's Sigmoid::func, with a correctly rounded exp
// like the C library's that Teaclave used.
func sigmoid(x float64) float64 { return 1 / (1 + expRounded(-x)) }
