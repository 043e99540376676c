package main

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxSecretLine bounds a password or key line read from stdin or a
// terminal.
const maxSecretLine = 4096

// envNewPassword gives the new password of user register, update and
// change-password without a prompt.
const envNewPassword = "TEACLAVE_NEW_PASSWORD"

// readLineUnbuffered reads one line, a byte at a time, so that nothing
// after it is consumed.
func readLineUnbuffered(r io.Reader) (string, error) {
	var b []byte
	one := make([]byte, 1)
	for len(b) <= maxSecretLine {
		n, err := r.Read(one)
		if n == 1 {
			if one[0] == '\n' {
				return strings.TrimSuffix(string(b), "\r"), nil
			}
			b = append(b, one[0])
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(b) == 0 {
				return "", io.EOF
			}
			return strings.TrimSuffix(string(b), "\r"), nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("line longer than %d bytes", maxSecretLine)
}

// stdinLine returns the next line of standard input.
func (a *app) stdinLine() (string, error) {
	if a.stdinReader == nil {
		a.stdinReader = bufio.NewReaderSize(a.stdin, maxSecretLine+2)
	}
	return readLineUnbuffered(a.stdinReader)
}

// secret gets a secret: from the environment variable env if it is set,
// else from a prompt without echo when standard input is a terminal
// (twice when confirm is set), else from the next line of standard input.
// Secrets never come from the command line.
func (a *app) secret(what, env string, confirm bool) (string, error) {
	if v := a.getenv(env); v != "" {
		return v, nil
	}
	if f, ok := a.stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprintf(a.stderr, "%s: ", what)
		s, err := readNoEcho(f)
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", what, err)
		}
		if confirm {
			fmt.Fprintf(a.stderr, "%s again: ", what)
			again, err := readNoEcho(f)
			fmt.Fprintln(a.stderr)
			if err != nil {
				return "", fmt.Errorf("read %s: %w", what, err)
			}
			if again != s {
				return "", errors.New("the two entries differ")
			}
		}
		if s == "" {
			return "", fmt.Errorf("empty %s", what)
		}
		return s, nil
	}
	if a.stdin == nil {
		return "", withHint(fmt.Errorf("no %s", what), fmt.Sprintf("pipe it on standard input or set %s", env))
	}
	s, err := a.stdinLine()
	if errors.Is(err, io.EOF) || (err == nil && s == "") {
		return "", withHint(fmt.Errorf("no %s on standard input", what), fmt.Sprintf("type it at a terminal prompt, pipe it on standard input, or set %s", env))
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", what, err)
	}
	return s, nil
}

// keySource is where a command takes a file key from: a file or an
// environment variable, never the command line.
type keySource struct {
	file string
	env  string
}

func (k *keySource) register(f *flags) {
	f.StringVar(&k.file, "key-file", "", "read the file key from `path` (hex, or the raw 16/32 bytes)")
	f.StringVar(&k.env, "key-env", "", "read the file key (hex) from environment variable `NAME`")
}

func (k *keySource) given() bool { return k.file != "" || k.env != "" }

// load returns the key.
func (k *keySource) load(a *app) ([]byte, error) {
	switch {
	case k.file != "" && k.env != "":
		return nil, usagef("give the key with --key-file or --key-env, not both")
	case k.file != "":
		data, err := os.ReadFile(k.file)
		if err != nil {
			return nil, fmt.Errorf("read key: %w", err)
		}
		key, err := parseKey(data)
		if err != nil {
			return nil, fmt.Errorf("key file %s: %w", k.file, err)
		}
		return key, nil
	case k.env != "":
		v := a.getenv(k.env)
		if v == "" {
			return nil, fmt.Errorf("environment variable %s is empty or not set", k.env)
		}
		key, err := parseKey([]byte(v))
		if err != nil {
			return nil, fmt.Errorf("key in %s: %w", k.env, err)
		}
		return key, nil
	}
	return nil, usagef("a key is required: --key-file PATH or --key-env NAME (keys are never taken from the command line)")
}

// parseKey reads a key: 32 or 64 hex digits (surrounding white space
// ignored), or exactly 16 or 32 raw bytes.
func parseKey(data []byte) ([]byte, error) {
	s := strings.TrimSpace(string(data))
	if len(s) == 32 || len(s) == 64 {
		if k, err := hex.DecodeString(s); err == nil {
			return k, nil
		}
	}
	if len(data) == 16 || len(data) == 32 {
		return append([]byte(nil), data...), nil
	}
	return nil, errors.New("not a key: want 32 or 64 hex digits, or 16 or 32 raw bytes")
}
