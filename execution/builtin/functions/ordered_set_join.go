package functions

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// OrderedSetJoin is builtin-ordered-set-join (functions.md §2.2).
// Arguments: left_column and right_column (non-negative integers, from 0),
// ascending and drop (booleans). Inputs input_data1 and input_data2: CSV
// without a header, each sorted by its key column (compared as strings,
// byte by byte), every record of a file with the same number of fields.
// A merge join writes one record per key found in both, at most one pair
// per key: record 1 (without its key column when drop is set) followed by
// record 2 without its key column. Output output_result: CSV with "\n"
// line ends, quoting only fields that need it. Summary: "{count} records".
func OrderedSetJoin(l Limits) Function {
	l = l.withDefaults()
	return Function{Name: NameOrderedSetJoin, Run: func(ctx context.Context, raw json.RawMessage, rt executor.Runtime) ([]byte, error) {
		a, err := parseArguments(raw)
		if err != nil {
			return nil, err
		}
		leftCol, err := a.Uint("left_column")
		if err != nil {
			return nil, err
		}
		rightCol, err := a.Uint("right_column")
		if err != nil {
			return nil, err
		}
		ascending, err := a.Bool("ascending")
		if err != nil {
			return nil, err
		}
		drop, err := a.Bool("drop")
		if err != nil {
			return nil, err
		}

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
		out, err := createOutput(rt, "output_result")
		if err != nil {
			return nil, err
		}
		defer out.Close()

		r1, r2 := newCSVReader(in1), newCSVReader(in2)
		rec1, more1, err := readRecord(r1)
		if err != nil {
			return nil, err
		}
		if !more1 {
			return nil, errors.New("input1 is empty")
		}
		rec2, more2, err := readRecord(r2)
		if err != nil {
			return nil, err
		}
		if !more2 {
			return nil, errors.New("input2 is empty")
		}

		var buf []byte
		width := -1
		count := 0
		for n := 0; ; n++ {
			if n%checkEvery == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			if leftCol >= uint64(len(rec1)) || rightCol >= uint64(len(rec2)) {
				return nil, errors.New("invalid index")
			}
			k1, k2 := rec1[leftCol], rec2[rightCol]
			var advance1, advance2 bool
			switch c := strings.Compare(k1, k2); {
			case c == 0:
				fields := make([]string, 0, len(rec1)+len(rec2)-1)
				if drop {
					fields = appendWithout(fields, rec1, int(leftCol))
				} else {
					fields = append(fields, rec1...)
				}
				fields = appendWithout(fields, rec2, int(rightCol))
				// The csv crate's writer refused records of different
				// lengths; the readers already made them equal.
				if width >= 0 && len(fields) != width {
					return nil, fmt.Errorf("found record with %d fields, but the previous record has %d fields", len(fields), width)
				}
				width = len(fields)
				buf = appendCSVRecord(buf[:0], fields)
				if _, err := out.Write(buf); err != nil {
					return nil, err
				}
				count++
				advance1, advance2 = true, true
			case (c < 0) == ascending:
				advance1 = true
			default:
				advance2 = true
			}
			if advance1 {
				if rec1, more1, err = readRecord(r1); err != nil {
					return nil, err
				}
				if !more1 {
					break
				}
			}
			if advance2 {
				if rec2, more2, err = readRecord(r2); err != nil {
					return nil, err
				}
				if !more2 {
					break
				}
			}
		}
		if err := out.Close(); err != nil {
			return nil, err
		}
		rt.Logger("teaclave_function::ordered_set_join").Info(fmt.Sprintf("joined %d records", count))
		return fmt.Appendf(nil, "%d records", count), nil
	}}
}

// newCSVReader reads CSV as the csv crate's default reader did, as far as
// encoding/csv can: no header, every record as long as the first, blank
// lines skipped, and stray quotes tolerated (LazyQuotes).
func newCSVReader(r io.Reader) *csv.Reader {
	c := csv.NewReader(r)
	c.LazyQuotes = true
	return c
}

// readRecord returns the next record, or more=false at the end.
func readRecord(r *csv.Reader) (rec []string, more bool, err error) {
	rec, err = r.Read()
	if err == io.EOF {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return rec, true, nil
}

func appendWithout(dst, rec []string, skip int) []string {
	for i, f := range rec {
		if i != skip {
			dst = append(dst, f)
		}
	}
	return dst
}

// appendCSVRecord appends a record as the csv crate's writer wrote it with
// its defaults: fields quoted only when they contain a comma, a quote, CR
// or LF (quotes doubled), a record of one empty field written as "", and
// "\n" at the end. (encoding/csv's writer also quotes a field with a
// leading space.)
func appendCSVRecord(b []byte, fields []string) []byte {
	if len(fields) == 1 && fields[0] == "" {
		return append(b, "\"\"\n"...)
	}
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		if !strings.ContainsAny(f, ",\"\r\n") {
			b = append(b, f...)
			continue
		}
		b = append(b, '"')
		b = append(b, strings.ReplaceAll(f, `"`, `""`)...)
		b = append(b, '"')
	}
	return append(b, '\n')
}
