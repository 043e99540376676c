//go:build !teaclave_production

package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/attestation/sim"
	"github.com/teaclave-go/teaclave/auth"
	"github.com/teaclave-go/teaclave/examples/deploy"
	"github.com/teaclave-go/teaclave/examples/deploy/deploytest"
)

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestEnclaveInfo(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	signer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signerDER, _ := x509.MarshalECPrivateKey(signer)
	writePEM(t, filepath.Join(dir, "signer.pem"), "EC PRIVATE KEY", signerDER)
	auditor, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "alice.key.pem"), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(auditor))
	pubDER, _ := x509.MarshalPKIXPublicKey(&auditor.PublicKey)
	writePEM(t, filepath.Join(dir, "alice.public.pem"), "PUBLIC KEY", pubDER)
	bin1 := writeFile(t, dir, "frontend-bin", "frontend binary")
	bin2 := writeFile(t, dir, "auth-bin", "authentication binary")

	info := filepath.Join(dir, "enclave_info.toml")
	c.ok("enclave-info", "generate", "--signer", filepath.Join(dir, "signer.pem"), "-o", info, "frontend="+bin1, "teaclave_authentication_service="+bin2)
	// The same bytes as the simulated attestor's own generator.
	want, err := sim.EnclaveInfo(map[string]string{attestation.ServiceFrontend: bin1, attestation.ServiceAuthentication: bin2}, &signer.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if got := must(os.ReadFile(info)); string(got) != string(want) {
		t.Fatalf("generated\n%s\nwant\n%s", got, want)
	}
	c.fail(exitError, []string{"exists", "--force"}, "enclave-info", "generate", "--signer", filepath.Join(dir, "signer.pem"), "-o", info, "frontend="+bin1)
	c.fail(exitUsage, []string{"unknown service"}, "enclave-info", "generate", "--signer", filepath.Join(dir, "signer.pem"), "-o", "-", "nosuch="+bin1)

	// sign writes alice.sign.sha256 by default (here, with -o).
	sig := filepath.Join(dir, "alice.sign.sha256")
	c.ok("enclave-info", "sign", "--key", filepath.Join(dir, "alice.key.pem"), "-o", sig, info)
	var v struct {
		Verified bool
		Services map[string]measurementView
	}
	c.jsonOut(&v, "enclave-info", "verify", "--auditor-key", filepath.Join(dir, "alice.public.pem"), "--signature", sig, info)
	if !v.Verified || len(v.Services) != 2 || len(v.Services[attestation.ServiceFrontend].MREnclave) != 64 {
		t.Fatalf("verify: %+v", v)
	}

	// A tampered signature, and tampered info, do not verify.
	sigBytes := must(os.ReadFile(sig))
	sigBytes[10] ^= 1
	badSig := filepath.Join(dir, "bad.sign.sha256")
	os.WriteFile(badSig, sigBytes, 0o644)
	c.fail(exitError, []string{"does not verify", "do not trust"}, "enclave-info", "verify", "--auditor-key", filepath.Join(dir, "alice.public.pem"), "--signature", badSig, info)
	infoBytes := must(os.ReadFile(info))
	tampered := filepath.Join(dir, "tampered.toml")
	os.WriteFile(tampered, []byte(strings.Replace(string(infoBytes), "mr_enclave = \"", "mr_enclave = \"0", 1)[:len(infoBytes)]), 0o644)
	c.fail(exitError, []string{"does not verify"}, "enclave-info", "verify", "--auditor-key", filepath.Join(dir, "alice.public.pem"), "--signature", sig, tampered)
	// Signing malformed info is refused.
	c.fail(exitError, []string{"sign only well-formed"}, "enclave-info", "sign", "--key", filepath.Join(dir, "alice.key.pem"), "-o", filepath.Join(dir, "x"), bin1)
	c.fail(exitUsage, []string{"--key is required"}, "enclave-info", "sign", info)
}

func TestAttest(t *testing.T) {
	c := withPlatform(t)
	var v attestView
	c.jsonOut(&v, "attest", c.p.AuthAddr)
	if !slices.Contains(v.Services, attestation.ServiceAuthentication) || !v.Simulated || v.Status != attestation.StatusOK || len(v.MREnclave) != 64 {
		t.Fatalf("attest: %+v", v)
	}
	if out := c.ok("attest", "--service", "frontend", c.p.FrontendAddr); !strings.Contains(out, "attestation verified") || !strings.Contains(out, "simulated") {
		t.Fatalf("attest:\n%s", out)
	}
	// The data folder's enclave info verifies.
	if out := c.ok("enclave-info", "verify", "--data-dir", c.p.Config.Data.Dir); !strings.Contains(out, ": OK") {
		t.Fatalf("verify --data-dir:\n%s", out)
	}

	// Production-style pinned material instead of the data folder.
	dd := c.p.Config.Data.Dir
	pinned := []string{"--root", filepath.Join(dd, deploy.RootFile), "--enclave-info", filepath.Join(dd, deploy.EnclaveInfoFile),
		"--auditor-key", filepath.Join(dd, deploy.AuditorDir, "development.public.pem"),
		"--signature", filepath.Join(dd, deploy.AuditorDir, "development.sign.sha256")}
	c.jsonOut(&v, append(append([]string{"attest"}, pinned...), "--data-dir", "/nonexistent", c.p.FrontendAddr)...)
	if !slices.Contains(v.Services, attestation.ServiceFrontend) {
		t.Fatalf("attest with pinned material: %+v", v)
	}
	c.fail(exitUsage, []string{"--root needs --enclave-info"}, "attest", "--root", filepath.Join(dd, deploy.RootFile), c.p.AuthAddr)
	c.fail(exitUsage, []string{"need --root"}, "attest", "--enclave-info", filepath.Join(dd, deploy.EnclaveInfoFile), c.p.AuthAddr)

	// Another platform's trust material: the endpoint fails attestation,
	// and platform commands refuse to talk to it.
	other := deploytest.Start(t)
	c.fail(exitError, []string{"failed attestation"}, "attest", "--data-dir", other.Config.Data.Dir, c.p.AuthAddr)
	c.failIn("teaclave\n", []string{deploy.EnvDataDir + "=" + other.Config.Data.Dir}, exitError, []string{"did not pass attestation", "TEACLAVE_DATA_DIR"}, "login", "--id", "admin")

	// A tampered enclave info signature in the data folder: nothing is
	// trusted.
	dir := t.TempDir()
	for _, f := range []string{deploy.RootFile, deploy.EnclaveInfoFile, filepath.Join(deploy.AuditorDir, "development.public.pem"), filepath.Join(deploy.AuditorDir, "development.sign.sha256")} {
		data := must(os.ReadFile(filepath.Join(c.p.Config.Data.Dir, f)))
		if strings.HasSuffix(f, ".sha256") {
			data[0] ^= 1
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o700)
		os.WriteFile(filepath.Join(dir, f), data, 0o644)
	}
	c.fail(exitError, []string{"cannot load the platform's trust material"}, "attest", "--data-dir", dir, c.p.AuthAddr)
	c.failIn("teaclave\n", []string{deploy.EnvDataDir + "=" + dir}, exitError, []string{"trust material"}, "login", "--id", "admin")
	c.fail(exitError, []string{"does not verify"}, "enclave-info", "verify", "--data-dir", dir)

	// Nothing listening.
	c.fail(exitError, []string{"connect to"}, "attest", "--timeout", "2s", "127.0.0.1:1")
	c.fail(exitUsage, []string{"not host:port"}, "attest", "nowhere")
}

// startWithoutDevelopmentAdmin starts a development platform whose user
// database is empty, as a production one's is at first.
func startWithoutDevelopmentAdmin(t *testing.T) (authAddr, dataDir string) {
	t.Helper()
	cfg := deploy.Default()
	cfg.APIEndpoints.Authentication.ListenAddress = "127.0.0.1:0"
	cfg.APIEndpoints.Frontend.ListenAddress = "127.0.0.1:0"
	cfg.Data.Dir = t.TempDir()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	trust, err := deploy.DevelopmentTrust(ctx, cfg.Data.Dir, logger)
	if err != nil {
		t.Fatal(err)
	}
	var eps *deploy.Endpoints
	app := fx.New(
		deploy.Platform(cfg, trust, logger),
		fx.Decorate(func(c *auth.Config) *auth.Config {
			cc := *c
			cc.DevelopmentAdmin = false
			return &cc
		}),
		fx.Populate(&eps),
		fx.WithLogger(func() fxevent.Logger { return fxevent.NopLogger }),
	)
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		app.Stop(ctx)
	})
	return eps.AuthAddr(), cfg.Data.Dir
}

func TestAdminInit(t *testing.T) {
	c := newCLI(t)
	addr, dataDir := startWithoutDevelopmentAdmin(t)
	c.env[deploy.EnvDataDir] = dataDir
	c.env[deploy.EnvAuthAddr] = addr

	// The development password is refused.
	c.failIn("teaclave\n", nil, exitError, []string{"development password"}, "admin", "init", addr)
	out := c.okIn("s3cret-admin\n", nil, "admin", "init", "--id", "root", addr)
	if !strings.Contains(out, "Created PlatformAdmin root") {
		t.Fatalf("admin init: %q", out)
	}
	c.login("root", "s3cret-admin")
	// Only once.
	c.failIn("another\n", nil, exitError, []string{"already", "first PlatformAdmin"}, "admin", "init", "--id", "eve", addr)

	// A development platform is bootstrapped already.
	d := withPlatform(t)
	d.failIn("whatever1\n", nil, exitError, []string{"first PlatformAdmin"}, "admin", "init")
}

func TestHelpAndUsage(t *testing.T) {
	c := newCLI(t)
	out := c.ok("--help")
	for _, cmd := range []string{"login", "user", "function", "file", "task", "encrypt", "decrypt", "enclave-info", "attest", "admin"} {
		if !strings.Contains(out, "\n  "+cmd+" ") {
			t.Fatalf("help lacks %s:\n%s", cmd, out)
		}
	}
	// Every command answers --help with its usage, exit 0.
	var walk func(cmd *command, path []string)
	walk = func(cmd *command, path []string) {
		if cmd.run != nil {
			r := c.run(append(path, "--help")...)
			if r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
				t.Errorf("%s --help: exit %d\n%s%s", strings.Join(path, " "), r.code, r.stdout, r.stderr)
			}
			return
		}
		r := c.run(append(path, "--help")...)
		if r.code != 0 || !strings.Contains(r.stdout, "Commands:") {
			t.Errorf("%s --help: exit %d", strings.Join(path, " "), r.code)
		}
		for _, s := range cmd.sub {
			walk(s, append(slices.Clone(path), s.name))
		}
	}
	walk(rootCommand(), nil)

	c.fail(exitUsage, []string{`unknown command "tsak"`}, "tsak")
	c.fail(exitUsage, []string{"Did you mean \"wait\""}, "task", "wai")
	c.fail(exitUsage, []string{"Commands:"}, "task")
	c.fail(exitUsage, []string{"flag provided but not defined"}, "task", "get", "--nope", "x")
	if got := c.ok("help", "task", "get"); !strings.Contains(got, "teaclave task get TASK_ID") {
		t.Fatalf("help task get:\n%s", got)
	}
}

// TestEnclaveInfoDataDir prepares a multi-process deployment's data folder
// with generate --data-dir: the enclave info it writes records each
// binary's own measurement and passes verify --data-dir; a binary rebuilt
// afterwards no longer matches.
func TestEnclaveInfoDataDir(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	front := writeFile(t, dir, "frontend-bin", "frontend binary")
	store := writeFile(t, dir, "storage-bin", "storage binary")
	c.ok("enclave-info", "generate", "--data-dir", data, "frontend="+front, "storage="+store)
	out := c.ok("enclave-info", "verify", "--data-dir", data, "--json")
	var got struct {
		Services map[string]struct {
			MREnclave string `json:"mr_enclave"`
		} `json:"services"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("verify --json: %v\n%s", err, out)
	}
	if len(got.Services) != 2 {
		t.Fatalf("services = %v, want frontend and storage", got.Services)
	}
	for name, bin := range map[string]string{attestation.ServiceFrontend: front, attestation.ServiceStorage: store} {
		m, err := sim.MeasureExecutable(bin)
		if err != nil {
			t.Fatal(err)
		}
		if s := got.Services[name].MREnclave; s != hex.EncodeToString(m[:]) {
			t.Errorf("%s mr_enclave = %v, want %x", name, s, m)
		}
	}
	c.fail(exitUsage, []string{"--signer or --data-dir"}, "enclave-info", "generate", "frontend="+front)
	c.fail(exitUsage, []string{"--signer or --data-dir"}, "enclave-info", "generate", "--data-dir", data, "--signer", "x.pem", "frontend="+front)
	c.fail(exitError, []string{"nosuch"}, "enclave-info", "generate", "--data-dir", data, "frontend="+filepath.Join(dir, "nosuch"))
}
