package attestation_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const (
	modPath = "github.com/teaclave-go/teaclave"
	simPkg  = modPath + "/attestation/sim"
)

func goTool(t *testing.T) string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err == nil {
		return goBin
	}
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("go command not found")
	}
	t.Skip("go command not found")
	return ""
}

func goList(t *testing.T, args ...string) ([]string, error) {
	t.Helper()
	cmd := exec.Command(goTool(t), append([]string{"list"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, &listError{err: err, out: string(out)}
	}
	return strings.Fields(string(out)), nil
}

type listError struct {
	err error
	out string
}

func (e *listError) Error() string { return e.err.Error() + ": " + e.out }

// TestProductionBuildExcludesSimulation: with the tag teaclave_production,
// a main that imports simulation from a development-only file does not link
// attestation/sim, and attestation/sim itself has nothing to build.
func TestProductionBuildExcludesSimulation(t *testing.T) {
	const main = "./testdata/prodcheck"
	dev, err := goList(t, "-deps", main)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(dev, simPkg) {
		t.Fatalf("development build does not link %s: the check below would prove nothing", simPkg)
	}
	prod, err := goList(t, "-deps", "-tags", "teaclave_production", main)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(prod, modPath+"/attestation") {
		t.Fatal("production build does not link attestation")
	}
	if slices.Contains(prod, simPkg) {
		t.Fatalf("production build links %s", simPkg)
	}
	all, err := goList(t, "-deps", "-tags", "teaclave_production", "./...")
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(all, simPkg) {
		t.Fatalf("production build of ./attestation/... links %s", simPkg)
	}
	devAll, err := goList(t, "-deps", "./...")
	if err != nil {
		t.Fatal(err)
	}
	for _, deps := range [][]string{all, devAll} {
		if slices.Contains(deps, "github.com/edgelesssys/ego/eclient") {
			t.Fatal("attestation imports EGo's eclient")
		}
	}
	if _, err := goList(t, "-tags", "teaclave_production", simPkg); err == nil || !strings.Contains(err.Error(), "build constraints exclude all Go files") {
		t.Fatalf("attestation/sim builds under teaclave_production: %v", err)
	}
}
