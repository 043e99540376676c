//go:build !teaclave_production

package sdk_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/examples/deploy/deploytest"
)

// The package's tests and runnable examples share one development
// platform, started by TestMain on 127.0.0.1 with a temporary data folder
// and announced to the examples as a real deployment is to a client: in
// the environment variables TEACLAVE_AUTH_ADDR, TEACLAVE_FRONTEND_ADDR and
// TEACLAVE_DATA_DIR. A file server beside it (TEACLAVE_FILE_SERVER) plays
// the role of the users' storage: GET returns what PUT stored.

// shared is the platform of this test binary.
type shared struct {
	platform *deploytest.Platform
	files    *deploytest.FileServer
}

var env shared

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	files, err := deploytest.NewFileServer(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "file server:", err)
		return 1
	}
	defer files.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := deploytest.Launch(ctx, deploytest.Options{FileAgentAllowlist: []string{files.Addr()}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "stop platform:", err)
		}
	}()
	env = shared{platform: p, files: files}
	for k, v := range map[string]string{
		"TEACLAVE_AUTH_ADDR":     p.AuthAddr,
		"TEACLAVE_FRONTEND_ADDR": p.FrontendAddr,
		"TEACLAVE_DATA_DIR":      p.Config.Data.Dir,
		"TEACLAVE_FILE_SERVER":   "http://" + files.Addr(),
	} {
		os.Setenv(k, v)
	}
	return m.Run()
}
