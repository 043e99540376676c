package wasm

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// flattenArguments is executor.Argv for C strings. A NUL byte cannot cross
// into a C string: Teaclave's host panicked on one; here the task fails
// with the reason.
func flattenArguments(raw json.RawMessage) ([]string, error) {
	argv, err := executor.Argv(raw)
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(argv); i += 2 {
		k, v := argv[i], argv[i+1]
		if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0 {
			return nil, fmt.Errorf("argument %q contains a NUL byte, which a C string cannot hold", strings.ToValidUTF8(strings.ReplaceAll(k, "\x00", `\0`), "?"))
		}
	}
	return argv, nil
}
