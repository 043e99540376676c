package functions

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// OrderedSetIntersect is builtin-ordered-set-intersect (functions.md
// §2.2). Argument: order, "ascending" or "desending" (sic). Inputs
// input_data1 and input_data2: hex lines, each file already sorted (not
// strictly) in that order as byte strings. A two-pointer merge marks the
// common lines; output_result1 and output_result2 get one "0" or "1" per
// line of their input, without separators. Summary: "{K} common items",
// K counting the marks in input 1.
//
// As in Teaclave, both outputs are created before the argument is checked,
// so a bad order still leaves them behind, empty.
func OrderedSetIntersect(l Limits) Function {
	l = l.withDefaults()
	return Function{Name: NameOrderedSetIntersect, Run: func(ctx context.Context, raw json.RawMessage, rt executor.Runtime) ([]byte, error) {
		in1, err := openInput(rt, "input_data1", l.MaxInputBytes)
		if err != nil {
			return nil, err
		}
		defer in1.Close()
		in2, err := openInput(rt, "input_data2", l.MaxInputBytes)
		if err != nil {
			return nil, err
		}
		defer in2.Close()
		out1, err := createOutput(rt, "output_result1")
		if err != nil {
			return nil, err
		}
		defer out1.Close()
		out2, err := createOutput(rt, "output_result2")
		if err != nil {
			return nil, err
		}
		defer out2.Close()

		a, err := parseArguments(raw)
		if err != nil {
			return nil, err
		}
		order, err := a.String("order")
		if err != nil {
			return nil, err
		}
		var ascending bool
		switch order {
		case "ascending":
			ascending = true
		case "desending":
		default:
			return nil, errors.New("Invalid order")
		}

		set1, err := readSortedHex(ctx, in1, ascending, l)
		if err != nil {
			return nil, err
		}
		set2, err := readSortedHex(ctx, in2, ascending, l)
		if err != nil {
			return nil, err
		}
		mark1, mark2 := make([]byte, set1.len()), make([]byte, set2.len())
		for i := range mark1 {
			mark1[i] = '0'
		}
		for j := range mark2 {
			mark2[j] = '0'
		}
		common := 0
		for i, j, n := 0, 0, 0; i < set1.len() && j < set2.len(); n++ {
			if n%checkEvery == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			c := bytes.Compare(set1.item(i), set2.item(j))
			switch {
			case c == 0:
				mark1[i], mark2[j] = '1', '1'
				common++
				i++
				j++
			case (c < 0) == ascending:
				i++
			default:
				j++
			}
		}
		if _, err := out1.Write(mark1); err != nil {
			return nil, err
		}
		if _, err := out2.Write(mark2); err != nil {
			return nil, err
		}
		if err := out1.Close(); err != nil {
			return nil, err
		}
		if err := out2.Close(); err != nil {
			return nil, err
		}
		rt.Logger("teaclave_function::ordered_set_intersect").Info(
			fmt.Sprintf("intersected %d and %d items", set1.len(), set2.len()))
		return fmt.Appendf(nil, "%d common items", common), nil
	}}
}

// byteStrings is a list of byte strings in one allocation: a file of
// short lines would otherwise cost a slice header per line.
type byteStrings struct {
	data []byte
	ends []int
}

func (b *byteStrings) len() int { return len(b.ends) }

func (b *byteStrings) item(i int) []byte {
	start := 0
	if i > 0 {
		start = b.ends[i-1]
	}
	return b.data[start:b.ends[i]]
}

// readSortedHex reads hex lines and checks they are sorted. It holds at
// most l.MaxCells lines.
func readSortedHex(ctx context.Context, r io.Reader, ascending bool, l Limits) (*byteStrings, error) {
	set := &byteStrings{}
	err := lines(ctx, r, l.MaxInputBytes, func(line string) error {
		n := set.len()
		if n >= l.MaxCells {
			return fmt.Errorf("%w: more than %d lines", ErrTooLarge, l.MaxCells)
		}
		start := len(set.data)
		var err error
		if set.data, err = hex.AppendDecode(set.data, []byte(line)); err != nil {
			return fmt.Errorf("line %d: %w", n+1, err)
		}
		set.ends = append(set.ends, len(set.data))
		if n > 0 {
			if c := bytes.Compare(set.data[start:], set.item(n-1)); (ascending && c < 0) || (!ascending && c > 0) {
				return errors.New("Invalid ordering")
			}
		}
		return nil
	})
	return set, err
}
