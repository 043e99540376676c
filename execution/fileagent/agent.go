package fileagent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/x509roots/fallback/bundle"

	"github.com/teaclave-go/teaclave"
)

// MaxRedirects is how many HTTP redirects one transfer follows.
const MaxRedirects = 3

// fusionBase is the path prefix of fusion URLs (protocol §14).
const fusionBase = "/TEACLAVE_FUSION_BASE/"

// Config configures the agent. It comes from the deployment; trust
// decisions (the CA roots) come from Deps.
type Config struct {
	// Allow lists "host:port" pairs the agent may reach even though they
	// resolve to a special address (loopback, private, link-local, ...)
	// or to the platform's own listen addresses. The development platform
	// allows 127.0.0.1:6789 and localhost:6789, where Teaclave's examples
	// serve their files.
	Allow []string
	// OwnAddrs are the platform's own listen addresses ("ip:port",
	// ":port" for every address of this machine); refused unless allowed.
	OwnAddrs []string
	// FileRoots are the absolute folders file:// URLs may name, opened
	// through os.Root: no path leaves them, by "..", by symlink or
	// otherwise. Empty refuses file:// URLs.
	FileRoots []string
	// FusionDir is the folder of fusion files (outputs kept by the
	// platform, sealed under keys only the platform holds). Empty refuses
	// fusion:// URLs. Execution nodes that share tasks must share it.
	FusionDir string
	// MaxFileSize bounds each file downloaded or uploaded. Zero means
	// 1 GiB.
	MaxFileSize int64
	// Timeout bounds each transfer. Zero means 10 minutes.
	Timeout time.Duration
	// DialTimeout bounds each connection attempt. Zero means 10 s.
	DialTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for a server's answer. Zero
	// means 60 s.
	ResponseHeaderTimeout time.Duration
}

// Defaults returns c with empty fields set to their defaults.
func (c Config) Defaults() Config {
	if c.MaxFileSize == 0 {
		c.MaxFileSize = 1 << 30
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Minute
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 10 * time.Second
	}
	if c.ResponseHeaderTimeout == 0 {
		c.ResponseHeaderTimeout = time.Minute
	}
	return c
}

// Validate checks c (after Defaults).
func (c Config) Validate() error {
	if c.MaxFileSize < 1 || c.Timeout <= 0 || c.DialTimeout <= 0 || c.ResponseHeaderTimeout <= 0 {
		return errors.New("fileagent: config: sizes and timeouts must be positive")
	}
	dirs := c.FileRoots
	if c.FusionDir != "" {
		dirs = append(dirs[:len(dirs):len(dirs)], c.FusionDir)
	}
	for _, r := range dirs {
		if !path.IsAbs(r) || path.Clean(r) != r || r == "/" {
			return fmt.Errorf("fileagent: config: folder %q must be absolute, clean and not /", r)
		}
	}
	if _, err := NewAddressPolicy(c.Allow, c.OwnAddrs, nil); err != nil {
		return err
	}
	return nil
}

// Deps are the agent's trust anchors and logger.
type Deps struct {
	// ExtraRoots are CA certificates trusted for https beyond the
	// compiled-in Mozilla roots (golang.org/x/crypto/x509roots): compiled
	// into the main binary, never read from the host. The host's own
	// certificate store is never used.
	ExtraRoots []*x509.Certificate
	// Logger; slog.Default() if nil. Nothing about a file's content is
	// ever logged.
	Logger *slog.Logger
}

// Agent moves a task's files between their URLs and the task's buffers:
// http(s) GET and PUT through one client whose every connection is checked
// by the address policy, data: URLs, and file:// and fusion:// URLs
// through os.Root. It is safe for concurrent use.
type Agent struct {
	cfg    Config
	policy *AddressPolicy
	client *http.Client
	roots  []fileRoot
	fusion *os.Root
	logger *slog.Logger
}

type fileRoot struct {
	dir  string
	root *os.Root
}

// New returns an agent. It opens the configured folders, which must exist.
func New(cfg Config, deps Deps) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	var local []netip.Addr
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				local = append(local, p.Addr())
			}
		}
	}
	policy, err := NewAddressPolicy(cfg.Allow, cfg.OwnAddrs, local)
	if err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, policy: policy, logger: deps.Logger.With("component", "fileagent")}
	for _, dir := range cfg.FileRoots {
		r, err := os.OpenRoot(dir)
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("fileagent: file root: %w", err)
		}
		a.roots = append(a.roots, fileRoot{dir: dir, root: r})
	}
	if cfg.FusionDir != "" {
		if a.fusion, err = os.OpenRoot(cfg.FusionDir); err != nil {
			a.Close()
			return nil, fmt.Errorf("fileagent: fusion folder: %w", err)
		}
	}
	a.client = a.newClient(rootPool(deps.ExtraRoots))
	return a, nil
}

// rootPool is the compiled-in Mozilla roots plus extra.
func rootPool(extra []*x509.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	for r := range bundle.Roots() {
		cert, err := x509.ParseCertificate(r.Certificate)
		if err != nil {
			continue // the bundle is tested upstream; skip rather than fail
		}
		if r.Constraint != nil {
			pool.AddCertWithConstraint(cert, r.Constraint)
		} else {
			pool.AddCert(cert)
		}
	}
	for _, c := range extra {
		pool.AddCert(c)
	}
	return pool
}

// Policy returns the agent's address policy.
func (a *Agent) Policy() *AddressPolicy { return a.policy }

// Close closes the agent's folders and idle connections.
func (a *Agent) Close() error {
	var errs []error
	for _, r := range a.roots {
		errs = append(errs, r.root.Close())
	}
	if a.fusion != nil {
		errs = append(errs, a.fusion.Close())
	}
	if a.client != nil {
		a.client.CloseIdleConnections()
	}
	return errors.Join(errs...)
}

func (a *Agent) newClient(pool *x509.CertPool) *http.Client {
	tr := &http.Transport{
		// Never a proxy from the host's environment: it would see the
		// requests and could answer them.
		Proxy:                  nil,
		DialContext:            a.dial,
		TLSClientConfig:        &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    a.cfg.DialTimeout,
		ResponseHeaderTimeout:  a.cfg.ResponseHeaderTimeout,
		ExpectContinueTimeout:  time.Second,
		IdleConnTimeout:        90 * time.Second,
		MaxIdleConnsPerHost:    4,
		MaxResponseHeaderBytes: 64 << 10,
		// The bytes are the file: no transparent decompression (nor its
		// amplification).
		DisableCompression: true,
		ForceAttemptHTTP2:  true,
	}
	return &http.Client{Transport: tr, CheckRedirect: checkRedirect}
}

var (
	errTooManyRedirects = errors.New("too many redirects")
	errBadRedirect      = errors.New("redirect not followed")
)

// checkRedirect follows at most MaxRedirects redirects, to http(s) only,
// never from https down to http, never changing the method (a PUT turned
// into a GET would report a stored upload that never happened). Each
// redirect's connection passes the address policy again at dial time.
func checkRedirect(req *http.Request, via []*http.Request) error {
	switch {
	case len(via) > MaxRedirects:
		return errTooManyRedirects
	case req.URL.Scheme != "http" && req.URL.Scheme != "https":
		return fmt.Errorf("%w: to a %s URL", errBadRedirect, req.URL.Scheme)
	case via[0].URL.Scheme == "https" && req.URL.Scheme == "http":
		return fmt.Errorf("%w: from https to http", errBadRedirect)
	case req.Method != via[0].Method:
		return fmt.Errorf("%w: it changes the request method", errBadRedirect)
	}
	return nil
}

// dial connects to addr, checking every address it resolves to against
// the policy at connect time (so a name that resolves differently between
// a check and the connection cannot slip through).
func (a *Agent) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{
		Timeout: a.cfg.DialTimeout,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: unparsable address", ErrAddressRefused)
			}
			return a.policy.Check(addr, ap)
		},
	}
	return d.DialContext(ctx, network, addr)
}

// Download copies the file at rawURL into dst, at most the configured
// maximum size. Errors are *Error with op "download".
func (a *Agent) Download(ctx context.Context, rawURL string, dst *Buffer) error {
	u, err := parseURL(rawURL)
	if err != nil {
		return &Error{Op: "download", Reason: "invalid URL", Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	switch u.Scheme {
	case "http", "https":
		return a.get(ctx, u, dst)
	case "data":
		return a.data(u, dst)
	case "file", "fusion":
		root, rel, err := a.resolve(u)
		if err != nil {
			return &Error{Op: "download", Reason: reasonOf(err), Err: err}
		}
		// O_NONBLOCK: opening a FIFO would otherwise wait for a writer.
		f, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return &Error{Op: "download", Reason: "cannot open " + u.Scheme + " file", Err: err}
		}
		defer f.Close()
		// Only regular files: a FIFO or device under a root would block
		// or never end, a folder fails late with a confusing reason.
		fi, err := f.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return &Error{Op: "download", Reason: "not a regular " + u.Scheme + " file", Err: ErrBadURL}
		}
		if fi.Size() <= a.cfg.MaxFileSize {
			dst.Grow(fi.Size())
		}
		return a.copyIn("download", dst, f)
	}
	return &Error{Op: "download", Reason: "scheme not supported", Err: ErrBadURL}
}

func reasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return "URL not accepted"
}

func parseURL(raw string) (*url.URL, error) {
	if len(raw) > 64<<10 {
		return nil, fmt.Errorf("%w: URL too long", ErrBadURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	return u, nil
}

// copyIn copies r into dst up to the size limit.
func (a *Agent) copyIn(op string, dst *Buffer, r io.Reader) error {
	n, err := io.Copy(dst, io.LimitReader(r, a.cfg.MaxFileSize+1))
	if errors.Is(err, ErrScratchFull) {
		// Not the file's size: the task's files together outgrew the
		// node's scratch limit.
		return &Error{Op: op, Reason: "the task's files exceed the node's scratch space", Err: err}
	}
	if errors.Is(err, ErrTooLarge) || n > a.cfg.MaxFileSize {
		return &Error{Op: op, Reason: "file larger than " + sizeText(a.cfg.MaxFileSize), Err: ErrTooLarge}
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
			return &Error{Op: op, Reason: "timed out", Err: err}
		}
		return &Error{Op: op, Reason: "transfer interrupted", Err: err}
	}
	return nil
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + " GiB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

func (a *Agent) get(ctx context.Context, u *url.URL, dst *Buffer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return &Error{Op: "download", Reason: "invalid URL", Err: err}
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return transportError("download", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &Error{Op: "download", Reason: "HTTP status " + resp.Status}
	}
	if resp.ContentLength > a.cfg.MaxFileSize {
		return &Error{Op: "download", Reason: "file larger than " + sizeText(a.cfg.MaxFileSize), Err: ErrTooLarge}
	}
	// A hint only: the copy below still stops at the limit whatever the
	// server announced.
	dst.Grow(resp.ContentLength)
	return a.copyIn("download", dst, resp.Body)
}

// transportError says why a request failed without connection detail.
func transportError(op string, err error) error {
	var cert x509.UnknownAuthorityError
	var host x509.HostnameError
	var inv x509.CertificateInvalidError
	reason := "connection error"
	switch {
	case errors.Is(err, ErrAddressRefused):
		reason = "destination not allowed"
	case errors.Is(err, errTooManyRedirects):
		reason = "more than " + strconv.Itoa(MaxRedirects) + " redirects"
	case errors.Is(err, errBadRedirect):
		reason = "redirect not followed"
	case errors.As(err, &cert), errors.As(err, &host), errors.As(err, &inv):
		reason = "server certificate not trusted"
	case errors.Is(err, context.DeadlineExceeded):
		reason = "timed out"
	case errors.Is(err, context.Canceled):
		reason = "canceled"
	}
	return &Error{Op: op, Reason: reason, Err: err}
}

// data decodes a data: URL: base64 ("data:<type>;base64,<data>", as
// Teaclave took) or percent-encoded text.
func (a *Agent) data(u *url.URL, dst *Buffer) error {
	body := u.Opaque
	if body == "" {
		return &Error{Op: "download", Reason: "invalid data URL", Err: ErrBadURL}
	}
	meta, payload, ok := strings.Cut(body, ",")
	if !ok {
		return &Error{Op: "download", Reason: "invalid data URL", Err: ErrBadURL}
	}
	var raw []byte
	var err error
	if strings.HasSuffix(strings.ToLower(meta), ";base64") {
		payload, err = url.PathUnescape(payload)
		if err == nil {
			raw, err = base64.StdEncoding.DecodeString(payload)
			if err != nil {
				raw, err = base64.RawStdEncoding.DecodeString(payload)
			}
		}
	} else {
		var s string
		s, err = url.PathUnescape(payload)
		raw = []byte(s)
	}
	if err != nil {
		return &Error{Op: "download", Reason: "invalid data URL", Err: fmt.Errorf("%w: %v", ErrBadURL, err)}
	}
	return a.copyIn("download", dst, strings.NewReader(string(raw)))
}

// resolve maps a file:// or fusion:// URL to a root and a relative path
// inside it.
func (a *Agent) resolve(u *url.URL) (*os.Root, string, error) {
	bad := func(why string) (*os.Root, string, error) {
		return nil, "", &Error{Reason: why, Err: ErrBadURL}
	}
	if u.Opaque != "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return bad("invalid " + u.Scheme + " URL")
	}
	p := u.Path
	if !path.IsAbs(p) || path.Clean(p) != p || strings.Contains(p, "\\") {
		return bad(u.Scheme + " URL path must be absolute and clean")
	}
	if u.Scheme == "fusion" {
		rel, ok := strings.CutPrefix(p, fusionBase)
		if !ok || u.Host != "" || rel == "" {
			return bad("fusion URL must be fusion:///TEACLAVE_FUSION_BASE/<name>")
		}
		if a.fusion == nil {
			return bad("fusion files are not enabled on this node")
		}
		return a.fusion, rel, nil
	}
	if u.Host != "" && !strings.EqualFold(u.Host, "localhost") {
		return bad("file URL must name no host")
	}
	for _, r := range a.roots {
		if rel, ok := strings.CutPrefix(p, r.dir+"/"); ok && rel != "" {
			return r.root, rel, nil
		}
	}
	return bad("file URL outside the configured folders")
}

// Upload copies src to rawURL: an HTTP PUT (success is status 200, 201 or
// 204), or a new file:// or fusion:// file, written under a temporary
// name and then linked to its name, which must not exist yet. Errors are
// *Error with op "upload".
func (a *Agent) Upload(ctx context.Context, rawURL string, src *Buffer) error {
	u, err := parseURL(rawURL)
	if err != nil {
		return &Error{Op: "upload", Reason: "invalid URL", Err: err}
	}
	if src.Size() > a.cfg.MaxFileSize {
		return &Error{Op: "upload", Reason: "file larger than " + sizeText(a.cfg.MaxFileSize), Err: ErrTooLarge}
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	switch u.Scheme {
	case "http", "https":
		return a.put(ctx, u, src)
	case "file", "fusion":
		root, rel, err := a.resolve(u)
		if err != nil {
			return &Error{Op: "upload", Reason: reasonOf(err), Err: err}
		}
		return a.writeFile(root, rel, src)
	}
	return &Error{Op: "upload", Reason: "scheme not supported", Err: ErrBadURL}
}

func (a *Agent) put(ctx context.Context, u *url.URL, src *Buffer) error {
	size := src.Size()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), src.Reader())
	if err != nil {
		return &Error{Op: "upload", Reason: "invalid URL", Err: err}
	}
	req.ContentLength = size
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(src.Reader()), nil }
	req.Header.Set("Content-Type", "application/x-binary")
	resp, err := a.client.Do(req)
	if err != nil {
		return transportError("upload", err)
	}
	defer resp.Body.Close()
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	switch resp.StatusCode {
	case http.StatusOK, http.StatusCreated, http.StatusNoContent:
		return nil
	}
	return &Error{Op: "upload", Reason: "HTTP status " + resp.Status}
}

func (a *Agent) writeFile(root *os.Root, rel string, src *Buffer) error {
	dir, base := path.Split(rel)
	tmp := dir + "." + base + ".tmp-" + teaclave.NewID(teaclave.PrefixTask).UUID().String()
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return &Error{Op: "upload", Reason: "cannot create file", Err: err}
	}
	_, err = io.Copy(f, src.Reader())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = root.Remove(tmp)
		return &Error{Op: "upload", Reason: "cannot write file", Err: err}
	}
	// Link, unlike rename, refuses an existing name: a file is written
	// once, and never replaces one that is there.
	if err := root.Link(tmp, rel); err != nil {
		_ = root.Remove(tmp)
		if errors.Is(err, os.ErrExist) {
			return &Error{Op: "upload", Reason: "file exists", Err: err}
		}
		return &Error{Op: "upload", Reason: "cannot write file", Err: err}
	}
	_ = root.Remove(tmp)
	return nil
}
