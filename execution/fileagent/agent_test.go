package fileagent_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/execution/fileagent"
)

// Every server here listens on 127.0.0.1; no test sends traffic anywhere
// else.

// server is an httptest server that counts the connections it accepts,
// so a test can tell a refused destination was never contacted.
type server struct {
	*httptest.Server
	conns atomic.Int64
}

func startServer(t *testing.T, h http.Handler, tls bool) *server {
	t.Helper()
	s := &server{Server: httptest.NewUnstartedServer(h)}
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	if tls {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

func newServer(t *testing.T, h http.Handler) *server { return startServer(t, h, false) }

func (s *server) hostPort() string { return s.Listener.Addr().String() }

func (s *server) port() string {
	_, p, _ := net.SplitHostPort(s.hostPort())
	return p
}

func newAgent(t *testing.T, cfg fileagent.Config, deps fileagent.Deps) *fileagent.Agent {
	t.Helper()
	a, err := fileagent.New(cfg.Defaults(), deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// newBuffer returns an in-memory buffer of at most 1 MiB.
func newBuffer(t *testing.T) *fileagent.Buffer {
	t.Helper()
	s, err := fileagent.NewScratch(t.TempDir(), 64<<20, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.NewBuffer(1 << 20)
}

func bufferOf(t *testing.T, content []byte) *fileagent.Buffer {
	t.Helper()
	b := newBuffer(t)
	if _, err := b.Write(content); err != nil {
		t.Fatal(err)
	}
	return b
}

func contents(t *testing.T, b *fileagent.Buffer) []byte {
	t.Helper()
	out, err := io.ReadAll(b.Reader())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// wantError checks that err is the agent's *Error with exactly the message
// "<op> failed: <reason>".
func wantError(t *testing.T, err error, op, reason string) *fileagent.Error {
	t.Helper()
	var fe *fileagent.Error
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T), want a *fileagent.Error", err, err)
	}
	if want := op + " failed: " + reason; err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
	return fe
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func serveBytes(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) })
}

// TestLoopbackRefusedUnlessAllowlisted: a server on 127.0.0.1 (by address
// and by the name localhost) is refused before any connection is made,
// and is reachable once its host:port is on the allowlist; the allowlist
// names one host:port, not the whole loopback.
func TestLoopbackRefusedUnlessAllowlisted(t *testing.T) {
	body := []byte("the file's bytes")
	srv := newServer(t, serveBytes(body))
	other := newServer(t, serveBytes(body))

	closed := newAgent(t, fileagent.Config{}, fileagent.Deps{})
	for _, u := range []string{srv.URL + "/f", "http://localhost:" + srv.port() + "/f"} {
		buf := newBuffer(t)
		err := closed.Download(ctx(t), u, buf)
		wantError(t, err, "download", "destination not allowed")
		if !errors.Is(err, fileagent.ErrAddressRefused) || buf.Size() != 0 {
			t.Fatalf("%s: %v, %d bytes", u, err, buf.Size())
		}
	}
	if n := srv.conns.Load(); n != 0 {
		t.Fatalf("the refused server saw %d connections", n)
	}

	open := newAgent(t, fileagent.Config{Allow: []string{srv.hostPort()}}, fileagent.Deps{})
	buf := newBuffer(t)
	if err := open.Download(ctx(t), srv.URL+"/f", buf); err != nil {
		t.Fatal(err)
	}
	if got := contents(t, buf); !bytes.Equal(got, body) {
		t.Fatalf("downloaded %q", got)
	}
	wantError(t, open.Download(ctx(t), other.URL+"/f", newBuffer(t)), "download", "destination not allowed")
	if n := other.conns.Load(); n != 0 {
		t.Fatalf("the server not on the allowlist saw %d connections", n)
	}
}

// putServer keeps what is PUT to it and answers with status.
type putServer struct {
	*server
	mu     sync.Mutex
	bodies map[string][]byte
	types  map[string]string
	status int
}

func newPutServer(t *testing.T) *putServer {
	p := &putServer{bodies: map[string][]byte{}, types: map[string]string{}, status: http.StatusOK}
	p.server = newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			http.Error(w, "PUT only", http.StatusMethodNotAllowed)
			return
		}
		b, err := io.ReadAll(r.Body)
		if err != nil || int64(len(b)) != r.ContentLength {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.bodies[r.URL.Path], p.types[r.URL.Path] = b, r.Header.Get("Content-Type")
		status := p.status
		p.mu.Unlock()
		w.WriteHeader(status)
	}))
	return p
}

func (p *putServer) body(path string) ([]byte, string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.bodies[path]
	return b, p.types[path], ok
}

// TestUploadRefusedUnlessAllowlisted: a PUT to a loopback server not on
// the allowlist never connects; on the allowlist it stores the bytes with
// Teaclave's headers, and success is a 2xx status the agent recognises.
func TestUploadRefusedUnlessAllowlisted(t *testing.T) {
	srv := newPutServer(t)
	content := []byte("an encrypted output")
	closed := newAgent(t, fileagent.Config{}, fileagent.Deps{})
	err := closed.Upload(ctx(t), srv.URL+"/out", bufferOf(t, content))
	wantError(t, err, "upload", "destination not allowed")
	if !errors.Is(err, fileagent.ErrAddressRefused) || srv.conns.Load() != 0 {
		t.Fatalf("%v; %d connections", err, srv.conns.Load())
	}
	if _, _, ok := srv.body("/out"); ok {
		t.Fatal("stored")
	}

	open := newAgent(t, fileagent.Config{Allow: []string{srv.hostPort()}}, fileagent.Deps{})
	for _, status := range []int{http.StatusOK, http.StatusCreated, http.StatusNoContent} {
		srv.mu.Lock()
		srv.status = status
		srv.mu.Unlock()
		path := "/out" + strconv.Itoa(status)
		if err := open.Upload(ctx(t), srv.URL+path, bufferOf(t, content)); err != nil {
			t.Fatalf("status %d: %v", status, err)
		}
		got, ctype, ok := srv.body(path)
		if !ok || !bytes.Equal(got, content) || ctype != "application/x-binary" {
			t.Fatalf("stored %v %q as %q", ok, got, ctype)
		}
	}
	for _, status := range []int{http.StatusInternalServerError, http.StatusForbidden, http.StatusAccepted} {
		srv.mu.Lock()
		srv.status = status
		srv.mu.Unlock()
		err := open.Upload(ctx(t), srv.URL+"/bad", bufferOf(t, content))
		wantError(t, err, "upload", "HTTP status "+strconv.Itoa(status)+" "+http.StatusText(status))
	}
}

// TestRedirects: every redirect is checked again: to a loopback server
// not on the allowlist (by address or by name) it is refused before any
// connection; at most three are followed; a redirect to another scheme,
// from https down to http, or one that would turn a PUT into a GET is not
// followed; a PUT redirected with 307 to an allowed place re-sends its
// body.
func TestRedirects(t *testing.T) {
	target := newPutServer(t) // not on the allowlist
	var finalHits atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /file", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "done") })
	mux.HandleFunc("/to-target", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/x", http.StatusFound)
	})
	mux.HandleFunc("/to-target-by-name", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost:"+target.port()+"/x", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/to-file", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	})
	mux.HandleFunc("/hop/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		if n == 0 {
			finalHits.Add(1)
			_, _ = io.WriteString(w, "arrived")
			return
		}
		http.Redirect(w, r, "/hop/"+strconv.Itoa(n-1), http.StatusFound)
	})
	mux.HandleFunc("PUT /put-307-target", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/stolen", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("PUT /put-302", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/file", http.StatusFound)
	})
	var stored atomic.Value
	mux.HandleFunc("PUT /put-307-self", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/store", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("PUT /store", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		stored.Store(string(b))
	})
	src := newServer(t, mux)
	tlsSrv := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, src.URL+"/file", http.StatusFound)
	}), true)
	a := newAgent(t, fileagent.Config{Allow: []string{src.hostPort(), tlsSrv.hostPort()}}, fileagent.Deps{ExtraRoots: []*x509.Certificate{tlsSrv.Certificate()}})

	for _, path := range []string{"/to-target", "/to-target-by-name"} {
		err := a.Download(ctx(t), src.URL+path, newBuffer(t))
		wantError(t, err, "download", "destination not allowed")
		if !errors.Is(err, fileagent.ErrAddressRefused) {
			t.Fatalf("%s: %v", path, err)
		}
	}
	wantError(t, a.Upload(ctx(t), src.URL+"/put-307-target", bufferOf(t, []byte("secret output"))), "upload", "destination not allowed")
	if n := target.conns.Load(); n != 0 {
		t.Fatalf("the redirect target saw %d connections", n)
	}

	buf := newBuffer(t)
	if err := a.Download(ctx(t), src.URL+"/hop/3", buf); err != nil {
		t.Fatalf("three redirects: %v", err)
	}
	if got := string(contents(t, buf)); got != "arrived" {
		t.Fatalf("three redirects: %q", got)
	}
	finalHits.Store(0)
	wantError(t, a.Download(ctx(t), src.URL+"/hop/4", newBuffer(t)), "download", "more than 3 redirects")
	if n := finalHits.Load(); n != 0 {
		t.Fatal("the fourth redirect was followed")
	}

	wantError(t, a.Download(ctx(t), src.URL+"/to-file", newBuffer(t)), "download", "redirect not followed")
	wantError(t, a.Download(ctx(t), tlsSrv.URL+"/x", newBuffer(t)), "download", "redirect not followed")
	wantError(t, a.Upload(ctx(t), src.URL+"/put-302", bufferOf(t, []byte("x"))), "upload", "redirect not followed")

	if err := a.Upload(ctx(t), src.URL+"/put-307-self", bufferOf(t, []byte("resent body"))); err != nil {
		t.Fatal(err)
	}
	if got, _ := stored.Load().(string); got != "resent body" {
		t.Fatalf("stored %q after a 307", got)
	}
}

// TestTLSRoots: https servers are trusted only through the compiled-in
// roots and the CAs the main embeds (Deps.ExtraRoots), never through the
// host's certificate store: a server whose certificate the host store
// (SSL_CERT_FILE) trusts is still refused.
func TestTLSRoots(t *testing.T) {
	srv := startServer(t, serveBytes([]byte("over tls")), true)
	dir := t.TempDir()
	pemFile := filepath.Join(dir, "host-roots.pem")
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", pemFile)
	t.Setenv("SSL_CERT_DIR", dir)
	if pool, err := x509.SystemCertPool(); err == nil {
		if _, err := srv.Certificate().Verify(x509.VerifyOptions{Roots: pool}); err == nil {
			t.Log("the host's certificate store trusts the test server")
		} else {
			t.Log("the host's store was loaded before this test; checking the compiled-in roots only")
		}
	}

	plain := newAgent(t, fileagent.Config{Allow: []string{srv.hostPort()}}, fileagent.Deps{})
	wantError(t, plain.Download(ctx(t), srv.URL+"/f", newBuffer(t)), "download", "server certificate not trusted")

	trusting := newAgent(t, fileagent.Config{Allow: []string{srv.hostPort()}}, fileagent.Deps{ExtraRoots: []*x509.Certificate{srv.Certificate()}})
	buf := newBuffer(t)
	if err := trusting.Download(ctx(t), srv.URL+"/f", buf); err != nil {
		t.Fatal(err)
	}
	if got := string(contents(t, buf)); got != "over tls" {
		t.Fatalf("downloaded %q", got)
	}
}

// fileLayout is a file root with traps around it:
//
//	base/secret.txt            outside every root
//	base/outside/secret2.txt   outside every root
//	base/rootb/y.txt           a sibling whose name extends the root's
//	base/root/in.txt           inside
//	base/root/sub/             a folder
//	base/root/out/             where outputs go
//	base/root/link-in   -> in.txt                 (stays inside)
//	base/root/link-out  -> ../secret.txt          (leaves)
//	base/root/abs-out   -> base/secret.txt        (leaves, absolute)
//	base/root/dirlink   -> base/outside           (leaves)
//	base/fusion/                                  the fusion folder
//	base/fusion/leak.fusion -> base/secret.txt    (leaves)
type fileLayout struct {
	base, root, fusion string
}

const secret = "SECRET: never leaves its folder"

func newFileLayout(t *testing.T) fileLayout {
	t.Helper()
	base := t.TempDir()
	l := fileLayout{base: base, root: filepath.Join(base, "root"), fusion: filepath.Join(base, "fusion")}
	for _, d := range []string{l.root, l.fusion, filepath.Join(l.root, "sub"), filepath.Join(l.root, "out"), filepath.Join(base, "outside"), filepath.Join(base, "rootb")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range map[string]string{
		"secret.txt": secret, "outside/secret2.txt": secret, "rootb/y.txt": secret,
		"root/in.txt": "input inside the root", "root/sub/x.txt": "x",
	} {
		if err := os.WriteFile(filepath.Join(base, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"root/link-in": "in.txt", "root/link-out": "../secret.txt", "root/abs-out": filepath.Join(base, "secret.txt"),
		"root/dirlink": filepath.Join(base, "outside"), "fusion/leak.fusion": filepath.Join(base, "secret.txt"),
	} {
		if err := os.Symlink(target, filepath.Join(base, link)); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func (l fileLayout) agent(t *testing.T, cfg fileagent.Config) *fileagent.Agent {
	cfg.FileRoots = []string{l.root}
	cfg.FusionDir = l.fusion
	return newAgent(t, cfg, fileagent.Deps{})
}

// TestFileURLs: file:// reads only regular files under the configured
// roots: "..", encoded or not, a symlink or a symlinked folder that
// leaves the root, a sibling folder whose name extends the root's, a
// host and another path are all refused, and no refusal names a host
// path.
func TestFileURLs(t *testing.T) {
	l := newFileLayout(t)
	a := l.agent(t, fileagent.Config{})
	for _, u := range []string{"file://" + l.root + "/in.txt", "file://localhost" + l.root + "/in.txt", "file://" + l.root + "/link-in"} {
		buf := newBuffer(t)
		if err := a.Download(ctx(t), u, buf); err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if got := string(contents(t, buf)); got != "input inside the root" {
			t.Fatalf("%s: %q", u, got)
		}
	}
	for _, tc := range []struct{ url, reason string }{
		{"file://" + l.root + "/../secret.txt", "file URL path must be absolute and clean"},
		{"file://" + l.root + "/sub/../../secret.txt", "file URL path must be absolute and clean"},
		{"file://" + l.root + "/sub/..%2F..%2Fsecret.txt", "file URL path must be absolute and clean"},
		{"file://" + l.root + "/%2E%2E/secret.txt", "file URL path must be absolute and clean"},
		{"file://" + l.root + "/./in.txt", "file URL path must be absolute and clean"},
		{"file://" + l.root + "/link-out", "cannot open file file"},
		{"file://" + l.root + "/abs-out", "cannot open file file"},
		{"file://" + l.root + "/dirlink/secret2.txt", "cannot open file file"},
		{"file://" + l.base + "/rootb/y.txt", "file URL outside the configured folders"},
		{"file://" + l.base + "/secret.txt", "file URL outside the configured folders"},
		{"file:///etc/passwd", "file URL outside the configured folders"},
		{"file://" + l.root, "file URL outside the configured folders"},
		{"file://files.example.com" + l.root + "/in.txt", "file URL must name no host"},
		{"file:relative/in.txt", "invalid file URL"},
		{"file://" + l.root + "/in.txt?v=1", "invalid file URL"},
		{"file://" + l.root + "/sub", "not a regular file file"},
		{"file://" + l.root + "/missing", "cannot open file file"},
	} {
		buf := newBuffer(t)
		err := a.Download(ctx(t), tc.url, buf)
		wantError(t, err, "download", tc.reason)
		if buf.Size() != 0 {
			t.Fatalf("%s: %d bytes read", tc.url, buf.Size())
		}
		if strings.Contains(err.Error(), l.base) {
			t.Fatalf("%s: the error names a host path: %v", tc.url, err)
		}
	}
	noRoots := newAgent(t, fileagent.Config{}, fileagent.Deps{})
	wantError(t, noRoots.Download(ctx(t), "file://"+l.root+"/in.txt", newBuffer(t)), "download", "file URL outside the configured folders")
}

// TestFileUploads: file:// outputs are written under a temporary name and
// then given their name, which must not exist yet: no output replaces a
// file, writes through a symlink, or leaves the root, and nothing but the
// output is left in its folder.
func TestFileUploads(t *testing.T) {
	l := newFileLayout(t)
	a := l.agent(t, fileagent.Config{})
	content := []byte("ciphertext of an output")
	u := "file://" + l.root + "/out/result.bin"
	if err := a.Upload(ctx(t), u, bufferOf(t, content)); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(l.root, "out", "result.bin"))
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("%q %v", got, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(l.root, "out")); len(entries) != 1 {
		t.Fatalf("folder holds %v", entries)
	}
	wantError(t, a.Upload(ctx(t), u, bufferOf(t, []byte("a second output"))), "upload", "file exists")
	if got, _ := os.ReadFile(filepath.Join(l.root, "out", "result.bin")); !bytes.Equal(got, content) {
		t.Fatalf("replaced by %q", got)
	}
	// A symlink's name exists: the upload never writes through it.
	wantError(t, a.Upload(ctx(t), "file://"+l.root+"/link-out", bufferOf(t, []byte("overwrite"))), "upload", "file exists")
	for _, tc := range []struct{ url, reason string }{
		{"file://" + l.root + "/dirlink/new.bin", "cannot create file"},
		{"file://" + l.root + "/../escape.bin", "file URL path must be absolute and clean"},
		{"file://" + l.root + "/nofolder/new.bin", "cannot create file"},
		{"file://" + l.base + "/escape.bin", "file URL outside the configured folders"},
	} {
		wantError(t, a.Upload(ctx(t), tc.url, bufferOf(t, []byte("x"))), "upload", tc.reason)
	}
	for _, p := range []string{"secret.txt", "outside/secret2.txt"} {
		if got, _ := os.ReadFile(filepath.Join(l.base, p)); string(got) != secret {
			t.Fatalf("%s changed to %q", p, got)
		}
	}
	for _, p := range []string{"outside/new.bin", "escape.bin"} {
		if _, err := os.Lstat(filepath.Join(l.base, p)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s was written", p)
		}
	}
	entries, _ := os.ReadDir(l.root)
	for _, e := range entries {
		if strings.Contains(e.Name(), "tmp") {
			t.Fatalf("temporary file %s left behind", e.Name())
		}
	}
}

// TestFusionURLs: fusion files live in the fusion folder only, under
// fusion:///TEACLAVE_FUSION_BASE/<name>: an output written there is
// readable as a later input; "..", another prefix, a host, a symlink out
// of the folder and a node without a fusion folder are refused.
func TestFusionURLs(t *testing.T) {
	l := newFileLayout(t)
	a := l.agent(t, fileagent.Config{})
	u := teaclave.FusionURLPrefix + "0b9ee1d6-8c1b-4d59-9a4e-8e2a0c1f5e01.fusion"
	if err := a.Upload(ctx(t), u, bufferOf(t, []byte("sealed fusion output"))); err != nil {
		t.Fatal(err)
	}
	buf := newBuffer(t)
	if err := a.Download(ctx(t), u, buf); err != nil {
		t.Fatal(err)
	}
	if got := string(contents(t, buf)); got != "sealed fusion output" {
		t.Fatalf("read back %q", got)
	}
	wantError(t, a.Upload(ctx(t), u, bufferOf(t, []byte("again"))), "upload", "file exists")
	const shape = "fusion URL must be fusion:///TEACLAVE_FUSION_BASE/<name>"
	for _, tc := range []struct{ url, reason string }{
		{"fusion:///TEACLAVE_FUSION_BASE/../secret.txt", "fusion URL path must be absolute and clean"},
		{"fusion:///TEACLAVE_FUSION_BASE/x/../../secret.txt", "fusion URL path must be absolute and clean"},
		{"fusion:///TEACLAVE_FUSION_BASE/%2E%2E/secret.txt", "fusion URL path must be absolute and clean"},
		{"fusion:///TEACLAVE_FUSION_BASE/..%2Fsecret.txt", "fusion URL path must be absolute and clean"},
		{"fusion:///TEACLAVE_FUSION_BASE/", "fusion URL path must be absolute and clean"},
		{"fusion:///TEACLAVE_FUSION_BASE", shape},
		{"fusion:///OTHER/x.fusion", shape},
		{"fusion://files.example.com/TEACLAVE_FUSION_BASE/x.fusion", shape},
		{"fusion:///TEACLAVE_FUSION_BASE/leak.fusion", "cannot open fusion file"},
	} {
		buf := newBuffer(t)
		err := a.Download(ctx(t), tc.url, buf)
		wantError(t, err, "download", tc.reason)
		if buf.Size() != 0 || strings.Contains(err.Error(), l.base) {
			t.Fatalf("%s: %d bytes, %v", tc.url, buf.Size(), err)
		}
		if tc.reason != "cannot open fusion file" {
			wantError(t, a.Upload(ctx(t), tc.url, bufferOf(t, []byte("x"))), "upload", tc.reason)
		}
	}
	noFusion := newAgent(t, fileagent.Config{}, fileagent.Deps{})
	wantError(t, noFusion.Download(ctx(t), u, newBuffer(t)), "download", "fusion files are not enabled on this node")
}

// TestSizeCaps: a file over the size limit is cut with a clear reason,
// whether the server announces its length or streams without end, and
// whatever the source; an oversized upload is refused before connecting.
func TestSizeCaps(t *testing.T) {
	const limit = 1024
	mux := http.NewServeMux()
	mux.HandleFunc("/exact", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(make([]byte, limit)) })
	mux.HandleFunc("/announced", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(4*limit))
		_, _ = w.Write(make([]byte, 4*limit))
	})
	var streamed atomic.Int64
	mux.HandleFunc("/endless", func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 4096)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			if streamed.Add(int64(len(chunk))) > 1<<30 {
				return // the client never stopped reading
			}
		}
	})
	srv := newServer(t, mux)
	l := newFileLayout(t)
	if err := os.WriteFile(filepath.Join(l.root, "big.bin"), make([]byte, limit+1), 0o600); err != nil {
		t.Fatal(err)
	}
	// A generous timeout: an agent that did not cut the endless download
	// would fail with "timed out" instead of hanging.
	a := l.agent(t, fileagent.Config{Allow: []string{srv.hostPort()}, MaxFileSize: limit, Timeout: 30 * time.Second})

	buf := newBuffer(t)
	if err := a.Download(ctx(t), srv.URL+"/exact", buf); err != nil || buf.Size() != limit {
		t.Fatalf("a file of exactly the limit: %v, %d bytes", err, buf.Size())
	}
	for _, u := range []string{
		srv.URL + "/announced", srv.URL + "/endless", "file://" + l.root + "/big.bin",
		"data:application/octet-stream;base64," + strings.Repeat("AAAA", limit/3+1),
	} {
		err := a.Download(ctx(t), u, newBuffer(t))
		wantError(t, err, "download", "file larger than 1 KiB")
		if !errors.Is(err, fileagent.ErrTooLarge) {
			t.Fatalf("%s: %v", u, err)
		}
	}
	// Socket buffers hold some megabytes; an uncut download would read
	// until the server gives up at 1 GiB.
	if n := streamed.Load(); n > 64<<20 {
		t.Fatalf("the endless download read %d bytes before it was cut", n)
	}
	put := newPutServer(t)
	b := newAgent(t, fileagent.Config{Allow: []string{put.hostPort()}, MaxFileSize: limit}, fileagent.Deps{})
	wantError(t, b.Upload(ctx(t), put.URL+"/out", bufferOf(t, make([]byte, limit+1))), "upload", "file larger than 1 KiB")
	if put.conns.Load() != 0 {
		t.Fatal("the oversized upload connected")
	}
}

// TestErrorsWithoutDetail: failures say "download failed" or "upload
// failed" with the HTTP status or a short reason, never the server's
// answer, an address, a port or the dialer's words.
func TestErrorsWithoutDetail(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/missing", http.NotFound)
	mux.HandleFunc("/broken", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "stack trace with a password=hunter2", http.StatusInternalServerError)
	})
	mux.HandleFunc("/partial", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "1000")
		_, _ = io.WriteString(w, "only a little")
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	srv := newServer(t, mux)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := lis.Addr().String()
	lis.Close()
	a := newAgent(t, fileagent.Config{Allow: []string{srv.hostPort(), deadAddr}}, fileagent.Deps{})
	slow := newAgent(t, fileagent.Config{Allow: []string{srv.hostPort()}, Timeout: 200 * time.Millisecond}, fileagent.Deps{})
	closed := newAgent(t, fileagent.Config{}, fileagent.Deps{})

	_, deadPort, _ := net.SplitHostPort(deadAddr)
	for _, tc := range []struct {
		agent    *fileagent.Agent
		url, msg string
	}{
		{a, srv.URL + "/missing", "download failed: HTTP status 404 Not Found"},
		{a, srv.URL + "/broken", "download failed: HTTP status 500 Internal Server Error"},
		{a, srv.URL + "/partial", "download failed: transfer interrupted"},
		{a, "http://" + deadAddr + "/f", "download failed: connection error"},
		{slow, srv.URL + "/slow", "download failed: timed out"},
		{closed, srv.URL + "/missing", "download failed: destination not allowed"},
		{a, "ftp://" + srv.hostPort() + "/f", "download failed: scheme not supported"},
		{a, "s3://bucket/key", "download failed: scheme not supported"},
		{a, "no scheme at all", "download failed: scheme not supported"},
		{a, "http://%zz", "download failed: invalid URL"},
	} {
		err := tc.agent.Download(ctx(t), tc.url, newBuffer(t))
		if err == nil || err.Error() != tc.msg {
			t.Errorf("%s: %v, want %q", tc.url, err, tc.msg)
			continue
		}
		for _, detail := range []string{"127.0.0.1", srv.port(), deadPort, "dial", "refused", "hunter2", "tcp", "EOF"} {
			if strings.Contains(err.Error(), detail) {
				t.Errorf("%s: %q mentions %q", tc.url, err, detail)
			}
		}
		var fe *fileagent.Error
		if !errors.As(err, &fe) || fe.Op != "download" {
			t.Errorf("%s: %T", tc.url, err)
		}
	}
	wantError(t, a.Upload(ctx(t), "http://"+deadAddr+"/f", bufferOf(t, []byte("x"))), "upload", "connection error")
	wantError(t, a.Upload(ctx(t), "data:,x", bufferOf(t, []byte("x"))), "upload", "scheme not supported")
}

// TestDataURLs: data: URLs carry their bytes, base64 (as Teaclave took
// them) or percent-encoded; malformed ones are refused.
func TestDataURLs(t *testing.T) {
	a := newAgent(t, fileagent.Config{}, fileagent.Deps{})
	for url, want := range map[string]string{
		"data:text/plain;base64,SGVsbG8sIFRlYWNsYXZlIQ==": "Hello, Teaclave!",
		"data:text/plain;base64,SGVsbG8sIFRlYWNsYXZlIQ":   "Hello, Teaclave!",
		"data:application/octet-stream;BASE64,AAEC/w==":   "\x00\x01\x02\xff",
		"data:,hello%20world":                             "hello world",
		"data:text/plain;charset=utf-8,caf%C3%A9":         "café",
		"DATA:text/plain;base64,":                         "",
		"data:text/plain;base64,SGVsbG8%3D":               "Hello",
	} {
		buf := newBuffer(t)
		if err := a.Download(ctx(t), url, buf); err != nil {
			t.Errorf("%s: %v", url, err)
			continue
		}
		if got := string(contents(t, buf)); got != want {
			t.Errorf("%s: %q, want %q", url, got, want)
		}
	}
	for _, url := range []string{"data:text/plain;base64,!!!!", "data:no-comma", "data:", "data:,%zz"} {
		wantError(t, a.Download(ctx(t), url, newBuffer(t)), "download", "invalid data URL")
	}
}

// TestConfigValidation: folders must be absolute and clean, and bad
// allowlists are refused when the agent is made.
func TestConfigValidation(t *testing.T) {
	for _, cfg := range []fileagent.Config{
		{FileRoots: []string{"relative"}},
		{FileRoots: []string{"/"}},
		{FileRoots: []string{"/tmp/../etc"}},
		{FusionDir: "fusion"},
		{Allow: []string{"no-port"}},
		{MaxFileSize: -1},
	} {
		if _, err := fileagent.New(cfg.Defaults(), fileagent.Deps{}); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	if _, err := fileagent.New(fileagent.Config{FileRoots: []string{filepath.Join(t.TempDir(), "missing")}}.Defaults(), fileagent.Deps{}); err == nil {
		t.Error("a missing root accepted")
	}
}

func ExampleAgent_Download() {
	srv := httptest.NewServer(serveBytes([]byte("hello")))
	defer srv.Close()
	agent, _ := fileagent.New(fileagent.Config{Allow: []string{srv.Listener.Addr().String()}}.Defaults(), fileagent.Deps{})
	defer agent.Close()
	scratch, _ := fileagent.NewScratch("", 1<<20, 0)
	defer scratch.Close()
	buf := scratch.NewBuffer(1 << 20)
	if err := agent.Download(context.Background(), srv.URL+"/f", buf); err != nil {
		fmt.Println(err)
		return
	}
	b, _ := io.ReadAll(buf.Reader())
	fmt.Println(string(b))
	// Output: hello
}
