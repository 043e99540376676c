package teaclave_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

// This file enforces DESIGN.md's import rules on the whole module:
//
//  1. The root package (teaclave) imports no package of this module.
//  2. A service package and everything below it imports no sub-package of
//     another service (only its root package, which holds the interface
//     and the gRPC client), and never an internal/ of another tree;
//     x/xtest packages are allowed from tests only.
//  3. A sub-package never imports its own service's root package (the
//     service wires its parts, not the other way round).
//  4. go.uber.org/fx appears only in fx.go and fx_test.go files and in the
//     reference mains under examples/.
//
// Extend services when a new service package arrives.

const modulePath = "github.com/teaclave-go/teaclave"

var services = []string{"auth", "frontend", "management", "storage", "accesscontrol", "scheduler", "execution"}

type goFile struct {
	dir     string // module-relative directory, "." for the root
	name    string
	imports []string
}

func readGoFiles(t *testing.T, fsys fs.FS) []goFile {
	t.Helper()
	var files []goFile
	fset := token.NewFileSet()
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			base := d.Name()
			if p != "." && (base == "testdata" || base == "vendor" || strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_")) {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		src, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, p, src, parser.ImportsOnly)
		if err != nil {
			return err
		}
		gf := goFile{dir: path.Dir(p), name: path.Base(p)}
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			gf.imports = append(gf.imports, ip)
		}
		files = append(files, gf)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// serviceOf returns the service a module-relative directory belongs to.
func serviceOf(dir string) string {
	top, _, _ := strings.Cut(dir, "/")
	if slices.Contains(services, top) {
		return top
	}
	return ""
}

func layoutViolations(files []goFile) []string {
	var out []string
	for _, f := range files {
		file := path.Join(f.dir, f.name)
		isTest := strings.HasSuffix(f.name, "_test.go")
		ownService := serviceOf(f.dir)
		for _, imp := range f.imports {
			if imp == "go.uber.org/fx" || strings.HasPrefix(imp, "go.uber.org/fx/") {
				if f.name != "fx.go" && f.name != "fx_test.go" && !strings.HasPrefix(f.dir, "examples/") && f.dir != "examples" {
					out = append(out, file+": imports fx outside fx.go")
				}
			}
			rel, ours := strings.CutPrefix(imp, modulePath)
			if !ours || (rel != "" && rel[0] != '/') {
				continue
			}
			rel = strings.TrimPrefix(rel, "/")
			if rel == "" {
				rel = "."
			}
			if f.dir == "." && !isTest {
				out = append(out, file+": the root package imports "+imp)
				continue
			}
			if strings.Contains("/"+rel+"/", "/internal/") {
				owner, _, _ := strings.Cut(rel, "/internal")
				if f.dir != owner && !strings.HasPrefix(f.dir, owner+"/") {
					out = append(out, file+": imports another tree's internal package "+imp)
				}
			}
			target := serviceOf(rel)
			if target == "" {
				continue
			}
			if target != ownService && ownService != "" && rel != target {
				if !(isTest && strings.HasSuffix(rel, "/xtest")) {
					out = append(out, file+": service "+ownService+" imports "+target+"'s sub-package "+imp)
				}
			}
			if target == ownService && rel == target && f.dir != target {
				out = append(out, file+": sub-package imports its own service "+imp)
			}
		}
	}
	slices.Sort(out)
	return out
}

func TestLayout(t *testing.T) {
	files := readGoFiles(t, os.DirFS("."))
	if len(files) < 5 {
		t.Fatalf("read only %d files", len(files))
	}
	for _, v := range layoutViolations(files) {
		t.Error(v)
	}
}

// TestLayoutCatchesViolations shows each rule fails on a tree that breaks it.
func TestLayoutCatchesViolations(t *testing.T) {
	file := func(imports ...string) *fstest.MapFile {
		src := "package p\n\nimport (\n"
		for _, i := range imports {
			src += "\t" + strconv.Quote(i) + "\n"
		}
		return &fstest.MapFile{Data: []byte(src + ")\n")}
	}
	cases := []struct {
		name string
		fs   fstest.MapFS
		want string
	}{
		{"root imports ours", fstest.MapFS{"store.go": file(modulePath + "/rpc")}, "the root package imports"},
		{"imports another tree's internal", fstest.MapFS{"rpc/r.go": file(modulePath + "/attestation/internal/der")}, "internal package"},
		{"service imports another's store", fstest.MapFS{"management/m.go": file(modulePath + "/storage/leveldb")}, "sub-package"},
		{"xtest outside tests", fstest.MapFS{"scheduler/s.go": file(modulePath + "/storage/xtest")}, "sub-package"},
		{"sub-package imports parent", fstest.MapFS{"storage/leveldb/l.go": file(modulePath + "/storage")}, "imports its own service"},
		{"fx outside fx.go", fstest.MapFS{"auth/service.go": file("go.uber.org/fx")}, "fx outside fx.go"},
		{"fxevent outside fx.go", fstest.MapFS{"auth/service.go": file("go.uber.org/fx/fxevent")}, "fx outside fx.go"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := layoutViolations(readGoFiles(t, c.fs))
			if len(v) != 1 || !strings.Contains(v[0], c.want) {
				t.Errorf("violations = %q, want one containing %q", v, c.want)
			}
		})
	}
	allowed := fstest.MapFS{
		"frontend/frontend.go":      file(modulePath+"/auth", modulePath, modulePath+"/rpc"),
		"frontend/fx.go":            file("go.uber.org/fx", modulePath+"/rpc"),
		"scheduler/s_test.go":       file(modulePath + "/storage/xtest"),
		"storage/leveldb/l.go":      file(modulePath),
		"examples/platform/main.go": file("go.uber.org/fx", modulePath+"/storage/leveldb"),
		"doc_test.go":               file(modulePath + "/rpc"),
		"storage/internal/x/x.go":   file(modulePath + "/storage/internal/y"),
		"storage/sealfs/sealfs.go":  file(modulePath + "/storage/internal/x"),
		"execution/wasm/wasm.go":    file(modulePath + "/execution/filecrypto"),
		"attestation/sim/sim.go":    file(modulePath + "/attestation"),
	}
	if v := layoutViolations(readGoFiles(t, allowed)); len(v) != 0 {
		t.Errorf("allowed tree reported: %q", v)
	}
}
