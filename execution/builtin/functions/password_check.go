package functions

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// PasswordCheck is builtin-password-check (functions.md §2.2). No
// arguments. Inputs: password, whose first line (trimmed) is the password,
// and exposed_passwords, one password per line (each trimmed). Summary:
// "true" if the password is exposed, otherwise "false"; no outputs.
//
// The password is compared with every exposed password through SHA-256
// digests in constant time, so the time taken does not tell which line
// matched or how much of one did.
func PasswordCheck(l Limits) Function {
	l = l.withDefaults()
	return Function{Name: NamePasswordCheck, Run: func(ctx context.Context, _ json.RawMessage, rt executor.Runtime) ([]byte, error) {
		pw, err := firstLine(ctx, rt, "password", l.MaxInputBytes)
		if err != nil {
			return nil, err
		}
		want := sha256.Sum256([]byte(strings.TrimSpace(pw)))

		in, err := openInput(rt, "exposed_passwords", l.MaxInputBytes)
		if err != nil {
			return nil, err
		}
		defer in.Close()
		found, n := 0, 0
		err = lines(ctx, in, l.MaxInputBytes, func(line string) error {
			if !utf8.ValidString(line) {
				return fmt.Errorf("exposed_passwords line %d is not valid UTF-8", n+1)
			}
			got := sha256.Sum256([]byte(strings.TrimSpace(line)))
			found |= subtle.ConstantTimeCompare(want[:], got[:])
			n++
			return nil
		})
		if err != nil {
			return nil, err
		}
		rt.Logger("teaclave_function::password_check").Info(
			fmt.Sprintf("checked a password against %d exposed passwords", n))
		if found == 1 {
			return []byte("true"), nil
		}
		return []byte("false"), nil
	}}
}

// firstLine returns the first line of the named input; an empty input is
// an error (Teaclave panicked).
func firstLine(ctx context.Context, rt executor.Runtime, name string, limit int64) (string, error) {
	in, err := openInput(rt, name, limit)
	if err != nil {
		return "", err
	}
	defer in.Close()
	var first *string
	stop := errors.New("stop")
	err = lines(ctx, in, limit, func(line string) error {
		first = &line
		return stop
	})
	if err != nil && err != stop {
		return "", err
	}
	if first == nil {
		return "", fmt.Errorf("input %q is empty", name)
	}
	if !utf8.ValidString(*first) {
		return "", fmt.Errorf("input %q is not valid UTF-8", name)
	}
	return *first, nil
}
