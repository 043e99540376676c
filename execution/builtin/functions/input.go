package functions

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// checkEvery is how many lines or rows a loop handles between two looks at
// its context: often enough to stop within a millisecond or so, rarely
// enough to cost nothing.
const checkEvery = 1024

// stride returns how many items of a loop to handle between two looks at
// the context when each item costs about work operations: about a
// million operations, so that a wide row does not stretch the time to
// notice a cancellation.
func stride(work int) int { return max(1, min(checkEvery, (1<<20)/max(1, work))) }

// boundedReader reads at most limit bytes of an input and fails, instead
// of truncating, when the input has more.
type boundedReader struct {
	r     io.Reader
	name  string
	limit int64
	left  int64 // may reach -1: one byte past the limit proves it too large
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, b.tooLarge()
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return 0, b.tooLarge()
	}
	return n, err
}

func (b *boundedReader) tooLarge() error {
	return fmt.Errorf("%w: input %q is larger than %d bytes", ErrTooLarge, b.name, b.limit)
}

// input is an opened input file read through a bound.
type input struct {
	io.Reader
	c io.Closer
}

func (in input) Close() error { return in.c.Close() }

// openInput opens the named input for reading at most limit bytes.
func openInput(rt executor.Runtime, name string, limit int64) (input, error) {
	rc, err := rt.OpenInput(name)
	if err != nil {
		return input{}, err
	}
	return input{Reader: &boundedReader{r: rc, name: name, limit: limit, left: limit}, c: rc}, nil
}

// readInput reads the whole named input, at most limit bytes.
func readInput(ctx context.Context, rt executor.Runtime, name string, limit int64) ([]byte, error) {
	in, err := openInput(rt, name, limit)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	b, err := io.ReadAll(in)
	if err != nil {
		return nil, err
	}
	return b, ctx.Err()
}

// lines calls each for every line of r, as Rust's BufRead::lines split
// them (on "\n", dropping a "\r" before it, no empty line after a final
// newline), looking at ctx every checkEvery lines. Lines are bounded by
// the input's bound (maxLine).
func lines(ctx context.Context, r io.Reader, maxLine int64, each func(line string) error) error {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 64<<10), int(min(maxLine+1, int64(^uint(0)>>1))))
	for n := 0; s.Scan(); n++ {
		if n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := each(s.Text()); err != nil {
			return err
		}
	}
	if err := s.Err(); err != nil {
		return err
	}
	return ctx.Err()
}

// Teaclave's texts for bad numbers (Rust's ParseFloatError).
var (
	errInvalidFloat = errors.New("invalid float literal")
	errEmptyFloat   = errors.New("cannot parse float from empty string")
)

// parseFloat parses s as Rust's str::parse::<f64> (bits 64) or ::<f32>
// (bits 32) did: decimal only (strconv would also take hexadecimal
// floats), an out-of-range value becomes ±Inf or 0 rather than an error,
// and "inf", "infinity" and "nan" are taken in any case with a sign.
func parseFloat(s string, bits int) (float64, error) {
	if s == "" {
		return 0, errEmptyFloat
	}
	if strings.ContainsAny(s, "xX_") {
		return 0, errInvalidFloat
	}
	v, err := strconv.ParseFloat(s, bits)
	if err == nil {
		return v, nil
	}
	if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
		return v, nil
	}
	if t := strings.TrimLeft(s, "+-"); len(s)-len(t) == 1 && strings.EqualFold(t, "nan") {
		return strconv.ParseFloat(t, bits)
	}
	return 0, errInvalidFloat
}

// table is a dense row-major matrix of float64.
type table struct {
	rows, cols int
	data       []float64
}

// readTable parses lines of exactly width comma-separated float64 values,
// as Teaclave's logistic regression and PCA read their data: each line
// trimmed, an empty line an error, fields not trimmed. keep chooses which
// leading columns are stored (the rest, a label, goes to labels when
// labels is true). It refuses a table over the limits before it grows.
func readTable(ctx context.Context, in io.Reader, width, keep int, labels bool, l Limits) (table, []float64, error) {
	if width > l.MaxColumns+1 {
		return table{}, nil, fmt.Errorf("%w: %d columns exceed the limit of %d", ErrTooLarge, width, l.MaxColumns+1)
	}
	t := table{cols: keep}
	var ys []float64
	row := make([]float64, 0, width)
	err := lines(ctx, in, l.MaxInputBytes, func(line string) error {
		line = strings.TrimSpace(line)
		if line == "" {
			return errors.New("Empty line")
		}
		if (t.rows+1)*width > l.MaxCells {
			return fmt.Errorf("%w: more than %d rows of %d columns", ErrTooLarge, t.rows, width)
		}
		row = row[:0]
		n := 0
		for field := range strings.SplitSeq(line, ",") {
			v, err := parseFloat(field, 64)
			if err != nil {
				return err
			}
			if n < width {
				row = append(row, v)
			}
			n++
		}
		if n != width {
			return fmt.Errorf("Data format error: column len = %d, expected = %d", n, width)
		}
		t.data = append(t.data, row[:keep]...)
		if labels {
			ys = append(ys, row[width-1])
		}
		t.rows++
		return nil
	})
	if err != nil {
		return table{}, nil, err
	}
	return t, ys, nil
}

// writeOutput creates the named output, writes data to it and closes it.
func writeOutput(rt executor.Runtime, name string, data []byte) error {
	w, err := rt.CreateOutput(name)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// output is an output file that may be closed more than once (on the
// success path, then by a deferred Close on every path).
type output struct {
	w      io.WriteCloser
	closed bool
}

func (o *output) Write(p []byte) (int, error) { return o.w.Write(p) }

func (o *output) Close() error {
	if o.closed {
		return nil
	}
	o.closed = true
	return o.w.Close()
}

// createOutput creates the named output.
func createOutput(rt executor.Runtime, name string) (*output, error) {
	w, err := rt.CreateOutput(name)
	if err != nil {
		return nil, err
	}
	return &output{w: w}, nil
}
