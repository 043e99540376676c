// Command teaclave is the command-line client of Teaclave for Go: it logs
// in, manages users, functions, files and tasks over attested TLS, waits
// for tasks with a live display, encrypts and decrypts files in the
// platform's formats, and generates, signs and verifies enclave info.
//
//	teaclave login --id admin            # password from a prompt, stdin or TEACLAVE_PASSWORD
//	teaclave function register --name builtin-echo --arg message
//	teaclave task create --function FUNCTION_ID --arg message='Hello, Teaclave!'
//	teaclave task invoke TASK_ID
//	teaclave task wait TASK_ID
//
// Every command takes --help. The platform is found through
// TEACLAVE_AUTH_ADDR, TEACLAVE_FRONTEND_ADDR and TEACLAVE_DATA_DIR (the
// data folder of a development platform, where the attestation root and
// the auditor-signed enclave info are pinned from), as the platform
// itself reads them; flags override them. Logins are saved in
// $TEACLAVE_CONFIG, or $XDG_CONFIG_HOME/teaclave/credentials.json
// (mode 0600). No password, token or key is ever taken from the command
// line.
//
// Exit status: 0 on success, 1 on an error, 2 on a usage error, 3 when a
// waited-for task ended Failed, Canceled or with an error result.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
