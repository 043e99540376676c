//go:build !teaclave_production

package pythoncompat_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/examples/deploy"
	"github.com/teaclave-go/teaclave/examples/deploy/deploytest"
	"github.com/teaclave-go/teaclave/execution/filecrypto"
)

// python is the interpreter the test uses: Debian's, where the python3-*
// packages install.
const python = "/usr/bin/python3"

// scriptTimeout bounds one run of teaclave_compat.py.
const scriptTimeout = 5 * time.Minute

// tools finds what the test needs, skipping (or failing under CI=true)
// when something is missing. It returns the protoc and grpc_python_plugin
// paths.
func tools(t *testing.T) (protoc, plugin string) {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format+" (install Debian's python3-grpcio python3-protobuf python3-cryptography python3-openssl python3-toml protobuf-compiler protobuf-compiler-grpc)", args...)
		}
		t.Skipf(format, args...)
	}
	if _, err := os.Stat(python); err != nil {
		missing("no %s: %v", python, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, python, "-c", "import grpc, google.protobuf, cryptography, OpenSSL, toml").CombinedOutput(); err != nil {
		missing("%s lacks a module: %v\n%s", python, err, out)
	}
	var err error
	if protoc, err = exec.LookPath("protoc"); err != nil {
		missing("no protoc: %v", err)
	}
	if plugin, err = exec.LookPath("grpc_python_plugin"); err != nil {
		missing("no grpc_python_plugin: %v", err)
	}
	return protoc, plugin
}

// stubs generates the Python protobuf and grpc modules from the project's
// protos into a temporary folder.
func stubs(t *testing.T, protoc, plugin string) string {
	t.Helper()
	protoDir, err := filepath.Abs(filepath.Join("..", "..", "rpc", "proto"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, protoc, "-I", protoDir,
		"--python_out="+out, "--grpc_python_out="+out, "--plugin=protoc-gen-grpc_python="+plugin,
		"teaclave_common.proto", "teaclave_authentication_service.proto", "teaclave_frontend_service.proto")
	cmd.Dir = protoDir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, b)
	}
	return out
}

// newFileServer is Teaclave's example file server on 127.0.0.1: GET
// /fixtures/... serves testdata/fixtures or an earlier upload, PUT stores an
// upload in memory.
func newFileServer(t *testing.T) *deploytest.FileServer {
	return deploytest.StartFileServer(t, os.DirFS("testdata"))
}

// output decrypts an uploaded teaclave-file-128 output under the all-zero
// key the examples register.
func output(t *testing.T, files *deploytest.FileServer, name string) string {
	t.Helper()
	data, ok := files.File(name)
	if !ok {
		t.Fatalf("%s was not uploaded", name)
	}
	r, err := filecrypto.NewReader(bytes.NewReader(data), int64(len(data)),
		filecrypto.CryptoInfo{Schema: filecrypto.SchemaTeaclaveFile128, Key: make([]byte, 16)},
		filecrypto.ReaderOptions{Name: path.Base(name)})
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decrypt %s: %v", name, err)
	}
	return string(plain)
}

// trustFiles are the files a verifying client pins.
type trustFiles struct {
	root, enclaveInfo, auditorKey, auditorSig string
}

// platformTrust names the files the development platform wrote for clients.
func platformTrust(p *deploytest.Platform) trustFiles {
	dir := p.Config.Data.Dir
	return trustFiles{
		root:        filepath.Join(dir, deploy.RootFile),
		enclaveInfo: filepath.Join(dir, deploy.EnclaveInfoFile),
		auditorKey:  filepath.Join(dir, deploy.AuditorDir, deploy.AuditorName+".public.pem"),
		auditorSig:  filepath.Join(dir, deploy.AuditorDir, deploy.AuditorName+".sign.sha256"),
	}
}

// compat describes one run of teaclave_compat.py.
type compat struct {
	stubs    string
	platform *deploytest.Platform
	files    *deploytest.FileServer // nil: examples without files only
	sw       bool                   // run with SGX_MODE=SW
	trust    *trustFiles            // nil: pass no trust files
	examples []string               // nil: all
	timeout  string                 // seconds per connect or RPC; empty: 20
}

// run runs the script and returns its combined output and exit error.
func (c compat) run(t *testing.T) (string, error) {
	t.Helper()
	fixturesURL := "http://127.0.0.1:1/fixtures/" // refused: no file is needed
	if c.files != nil {
		fixturesURL = "http://" + c.files.Addr() + "/fixtures/"
	}
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"teaclave_compat.py",
		"--auth", c.platform.AuthAddr, "--frontend", c.platform.FrontendAddr,
		"--stubs", c.stubs, "--fixtures-url", fixturesURL, "--testdata", testdata,
		"--timeout", cmp.Or(c.timeout, "20"), "--task-timeout", "60", "--poll", "0.2"}
	if c.trust != nil {
		args = append(args, "--root", c.trust.root, "--enclave-info", c.trust.enclaveInfo,
			"--auditor-key", c.trust.auditorKey, "--auditor-signature", c.trust.auditorSig)
	}
	if c.examples != nil {
		args = append(args, "--examples", strings.Join(c.examples, ","))
	}
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "SGX_MODE=") || strings.HasPrefix(kv, "PYTHONPATH=")
	})
	cmd.Env = append(cmd.Env, "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1")
	if c.sw {
		cmd.Env = append(cmd.Env, "SGX_MODE=SW")
	}
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("teaclave_compat.py did not finish within %v:\n%s", scriptTimeout, out)
	}
	return string(out), err
}

// TestTeaclavePythonSDK runs Teaclave's Python examples against the
// platform, the SDK's way, with SGX_MODE=SW and with full verification.
func TestTeaclavePythonSDK(t *testing.T) {
	protoc, plugin := tools(t)
	gen := stubs(t, protoc, plugin)
	for _, mode := range []struct {
		name     string
		sw       bool
		wantLine string
	}{
		{"SGX_MODE=SW", true, "SGX_MODE=SW: attestation not verified"},
		{"verified", false, "[authentication] verified (TLSv1."},
	} {
		t.Run(mode.name, func(t *testing.T) {
			files := newFileServer(t)
			p := deploytest.StartWith(t, deploytest.Options{FileAgentAllowlist: []string{files.Addr()}})
			c := compat{stubs: gen, platform: p, files: files, sw: mode.sw}
			if !mode.sw {
				tf := platformTrust(p)
				c.trust = &tf
			}
			out, err := c.run(t)
			if err != nil {
				t.Fatalf("teaclave_compat.py: %v\n%s", err, out)
			}
			t.Logf("teaclave_compat.py output:\n%s", out)
			for _, want := range []string{mode.wantLine, "teaclave_compat: OK: 7 examples"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q", want)
				}
			}
			if !mode.sw && strings.Contains(out, "not verified") {
				t.Error("verified mode skipped a verification")
			}
			// The examples' outputs, uploaded to the file server.
			const psi = "fixtures/functions/ordered_set_intersect/"
			if got := output(t, files, psi+"output_psi0.enc"); got != "0101010" {
				t.Errorf("ordered set intersect output 1 = %q", got)
			}
			if got := output(t, files, psi+"output_psi1.enc"); got != "01101" {
				t.Errorf("ordered set intersect output 2 = %q", got)
			}
			for _, name := range []string{"user0_output.enc", "user1_output.enc", "user2_output.enc"} {
				lines := strings.Split(strings.TrimSpace(output(t, files, "fixtures/functions/private_join_and_compute/three_party_data/"+name)), "\n")
				slices.Sort(lines)
				if !slices.Equal(lines, []string{"c, 470000", "e, 5033000"}) {
					t.Errorf("private join and compute %s = %q", name, lines)
				}
			}
		})
	}
}

// TestTeaclavePythonSDKRefusesWrongTrust checks that verified mode refuses
// the platform when what the client pins does not match it, and that
// SGX_MODE=SW, like the SDK, does not look.
func TestTeaclavePythonSDKRefusesWrongTrust(t *testing.T) {
	protoc, plugin := tools(t)
	gen := stubs(t, protoc, plugin)
	p := deploytest.Start(t)
	good := platformTrust(p)
	info, err := os.ReadFile(good.enclaveInfo)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	write := func(name string, data []byte) string {
		t.Helper()
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return file
	}
	// A second auditor signs what the test hands it.
	auditor, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&auditor.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	otherAuditorKey := write("other-auditor.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	signed := func(name string, data []byte) trustFiles {
		t.Helper()
		sig, err := attestation.SignEnclaveInfo(data, auditor)
		if err != nil {
			t.Fatal(err)
		}
		tf := good
		tf.enclaveInfo = write(name, data)
		tf.auditorKey = otherAuditorKey
		tf.auditorSig = write(name+".sig", sig)
		return tf
	}

	alteredEnclave := tamper(t, info, "teaclave_authentication_service", "mr_enclave")
	unsigned := good
	unsigned.enclaveInfo = write("unsigned.toml", alteredEnclave)
	otherRoot := good
	otherRoot.root = write("other-root.pem", selfSignedCA(t))

	for _, c := range []struct {
		name  string
		trust trustFiles
		want  string
	}{
		{"altered enclave info, stale signature", unsigned, "auditor signature"},
		{"mr_enclave differs", signed("enclave.toml", alteredEnclave), "mr_enclave"},
		{"mr_signer differs", signed("signer.toml", tamper(t, info, "teaclave_authentication_service", "mr_signer")), "mr_signer"},
		{"frontend mr_enclave differs", signed("frontend.toml", tamper(t, info, "teaclave_frontend_service", "mr_enclave")), "mr_enclave"},
		{"other attestation root", otherRoot, "does not chain to the attestation root"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := compat{stubs: gen, platform: p, trust: &c.trust, examples: []string{"builtin_echo"}}.run(t)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("teaclave_compat.py accepted the platform (err %v):\n%s", err, out)
			}
			if !strings.Contains(out, "teaclave_compat: FAIL") || !strings.Contains(out, c.want) {
				t.Fatalf("output lacks a failure naming %q:\n%s", c.want, out)
			}
			if strings.Contains(out, "echo result") {
				t.Fatalf("a task ran before verification failed:\n%s", out)
			}
			for line := range strings.Lines(out) {
				if strings.HasPrefix(line, "teaclave_compat: FAIL") {
					t.Log(strings.TrimSpace(line))
				}
			}
		})
	}

	t.Run("SGX_MODE=SW does not verify", func(t *testing.T) {
		out, err := compat{stubs: gen, platform: p, sw: true, trust: &otherRoot, examples: []string{"builtin_echo"}}.run(t)
		if err != nil || !strings.Contains(out, "teaclave_compat: OK: 1 examples") {
			t.Fatalf("teaclave_compat.py in SW mode: %v\n%s", err, out)
		}
	})
}

// tamper flips the first hex digit of key in [section] of an enclave info
// file.
func tamper(t *testing.T, info []byte, section, key string) []byte {
	t.Helper()
	lines := strings.Split(string(info), "\n")
	in := false
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "[") {
			in = trimmed == "["+section+"]"
			continue
		}
		name, value, ok := strings.Cut(trimmed, "=")
		if !in || !ok || strings.TrimSpace(name) != key {
			continue
		}
		value = strings.TrimSpace(value)
		if len(value) < 3 || value[0] != '"' {
			t.Fatalf("enclave info %s.%s: unexpected value %q", section, key, value)
		}
		flipped := byte('0')
		if value[1] == '0' {
			flipped = '1'
		}
		lines[i] = key + ` = "` + string(flipped) + value[2:]
		return []byte(strings.Join(lines, "\n"))
	}
	t.Fatalf("enclave info has no %s.%s", section, key)
	return nil
}

// selfSignedCA returns a fresh P-256 CA certificate (PEM) that endorses
// nothing.
func selfSignedCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Unrelated Root CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
