package functions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// PrivateJoinAndCompute is builtin-private-join-and-compute (functions.md
// §2.2). Argument: num_user (a non-negative integer, at least 2). Inputs
// input_data0 … input_data{n-1}: lines "name : amount"; a line shorter
// than 3 characters, without exactly one ":", or whose amount is not a u32
// is skipped. The names found in every input are joined and their amounts
// summed; every output output_data0 … output_data{n-1} gets the same lines
// "{name}, {sum}\n". Summary: "{n} users join the task in total."
//
// Teaclave wrote the lines in hash-map order; they come here sorted by
// name, which is one of those orders. Sums are 64-bit, so n amounts of up
// to 2³²-1 cannot overflow (Teaclave's u32 sum wrapped around).
func PrivateJoinAndCompute(l Limits) Function {
	l = l.withDefaults()
	return Function{Name: NamePrivateJoinAndCompute, Run: func(ctx context.Context, raw json.RawMessage, rt executor.Runtime) ([]byte, error) {
		a, err := parseArguments(raw)
		if err != nil {
			return nil, err
		}
		n, err := a.Uint("num_user")
		if err != nil {
			return nil, err
		}
		if n < 2 {
			return nil, errors.New("The demo requires at least two parties!")
		}

		var joined map[string]uint64
		for i := range n {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			name := "input_data" + strconv.FormatUint(i, 10)
			data, err := readInput(ctx, rt, name, l.MaxInputBytes)
			if err != nil {
				return nil, err
			}
			if !utf8.Valid(data) {
				return nil, fmt.Errorf("input %q is not valid UTF-8", name)
			}
			amounts, err := parseAmounts(ctx, name, string(data), l.MaxCells)
			if err != nil {
				return nil, err
			}
			if joined == nil {
				joined = amounts
				continue
			}
			for k, v := range joined {
				if w, ok := amounts[k]; ok {
					joined[k] = v + w
				} else {
					delete(joined, k)
				}
			}
		}

		keys := make([]string, 0, len(joined))
		for k := range joined {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var out []byte
		for _, k := range keys {
			out = append(out, k...)
			out = append(out, ", "...)
			out = strconv.AppendUint(out, joined[k], 10)
			out = append(out, '\n')
		}
		for i := range n {
			if err := writeOutput(rt, "output_data"+strconv.FormatUint(i, 10), out); err != nil {
				return nil, err
			}
		}
		rt.Logger("teaclave_function::private_join_and_compute").Info(
			fmt.Sprintf("%d names are common to %d inputs", len(keys), n))
		return fmt.Appendf(nil, "%d users join the task in total.", n), nil
	}}
}

// parseAmounts parses one party's "name : amount" lines; a later line for
// the same name replaces an earlier one. At most maxNames names are held.
func parseAmounts(ctx context.Context, input, data string, maxNames int) (map[string]uint64, error) {
	m := map[string]uint64{}
	n := 0
	for line := range strings.SplitSeq(data, "\n") {
		if n++; n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		line = strings.TrimSpace(line)
		if len(line) < 3 {
			continue
		}
		name, amount, ok := strings.Cut(line, ":")
		if !ok || strings.Contains(amount, ":") {
			continue
		}
		v, ok := parseU32(strings.TrimSpace(amount))
		if !ok {
			continue
		}
		name = strings.TrimSpace(name)
		if _, ok := m[name]; !ok && len(m) >= maxNames {
			return nil, fmt.Errorf("%w: input %q has more than %d names", ErrTooLarge, input, maxNames)
		}
		m[name] = v
	}
	return m, nil
}

// parseU32 parses s as Rust's str::parse::<u32>: decimal digits with an
// optional leading "+".
func parseU32(s string) (uint64, bool) {
	s = strings.TrimPrefix(s, "+")
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 32)
	return v, err == nil
}
