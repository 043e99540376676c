// Command execution runs one execution node of a multi-process Teaclave
// for Go deployment: one process per node, any number of nodes, all
// sharing one configuration file with the services (docs/deploy.md). The
// node takes its tasks from the scheduler; it listens on nothing.
//
// The data folder must hold the development trust material and enclave
// info that list this binary (teaclave enclave-info generate):
//
//	go build -o bin/ ./examples/...
//	bin/execution -config runtime.config.toml -node node0
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
	if err := deploy.Main(deploy.ServiceExecution, os.Args[1:], os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "execution:", err)
		os.Exit(1)
	}
}
