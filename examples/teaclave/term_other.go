//go:build !linux

package main

import (
	"errors"
	"os"
)

// readNoEcho is not implemented outside Linux: the CLI never reads a
// password with echo on.
func readNoEcho(*os.File) (string, error) {
	return "", errors.New("cannot turn off echo on this system: pipe the password on standard input or set TEACLAVE_PASSWORD")
}
