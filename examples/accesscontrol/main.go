// Command accesscontrol runs the access control service of a multi-process Teaclave for Go
// deployment, one process of several that share one configuration file
// (docs/deploy.md).
//
// The data folder must hold the development trust material and enclave
// info that list this binary (teaclave enclave-info generate):
//
//	go build -o bin/ ./examples/...
//	bin/accesscontrol -config runtime.config.toml
//
// Flags override the configuration file, and the environment
// (TEACLAVE_AUTH_ADDR, TEACLAVE_FRONTEND_ADDR, TEACLAVE_DATA_DIR)
// overrides the file. SIGINT or SIGTERM stops it gracefully.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/teaclave-go/teaclave/examples/deploy"
)

func main() {
	if err := deploy.Main(deploy.ServiceAccessControl, os.Args[1:], os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "accesscontrol:", err)
		os.Exit(1)
	}
}
