package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"

	"google.golang.org/grpc"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/auth"
	"github.com/teaclave-go/teaclave/examples/deploy"
	"github.com/teaclave-go/teaclave/frontend"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/sdk"
)

// connFlags are the flags of every command that talks to the platform:
// where it is, what to trust, and which saved login to use.
type connFlags struct {
	authAddr     string
	frontendAddr string
	dataDir      string
	// Pinned trust material (production): used instead of the data folder
	// when root is set.
	root        string
	enclaveInfo string
	auditorKeys multiFlag
	signatures  multiFlag
	threshold   int
	// as selects a saved login.
	as string
}

func (c *connFlags) register(f *flags, session bool) {
	f.StringVar(&c.authAddr, "auth-addr", "", "authentication api endpoint (default $TEACLAVE_AUTH_ADDR or "+deploy.DefaultAuthAddr+")")
	f.StringVar(&c.frontendAddr, "frontend-addr", "", "frontend endpoint (default $TEACLAVE_FRONTEND_ADDR or "+deploy.DefaultFrontendAddr+")")
	f.StringVar(&c.dataDir, "data-dir", "", "`folder` of a development platform whose attestation root and signed enclave info are pinned (default $TEACLAVE_DATA_DIR or ./"+deploy.DefaultDataDir+")")
	f.StringVar(&c.root, "root", "", "pinned attestation root `PEM` of a production platform (with --enclave-info, --auditor-key, --signature; replaces --data-dir)")
	f.StringVar(&c.enclaveInfo, "enclave-info", "", "auditor-signed enclave_info.toml `file` (with --root)")
	f.Var(&c.auditorKeys, "auditor-key", "auditor public key `PEM` (with --root; repeatable)")
	f.Var(&c.signatures, "signature", "auditor signature `file` over the enclave info (with --root; repeatable)")
	f.IntVar(&c.threshold, "threshold", 0, "distinct auditor signatures required (with --root; default all)")
	if f.conn == nil {
		f.conn = map[string]bool{}
	}
	for _, n := range []string{"auth-addr", "frontend-addr", "data-dir", "root", "enclave-info", "auditor-key", "signature", "threshold"} {
		f.conn[n] = true
	}
	if session {
		f.StringVar(&c.as, "as", "", "saved login `id` to act as (default $TEACLAVE_USER, else the last login)")
	}
}

func (c *connFlags) resolvedAuthAddr(a *app) string {
	return firstNonEmpty(c.authAddr, a.getenv(deploy.EnvAuthAddr), deploy.DefaultAuthAddr)
}

func (c *connFlags) resolvedFrontendAddr(a *app) string {
	return firstNonEmpty(c.frontendAddr, a.getenv(deploy.EnvFrontendAddr), deploy.DefaultFrontendAddr)
}

func (c *connFlags) resolvedDataDir(a *app) string {
	return firstNonEmpty(c.dataDir, a.getenv(deploy.EnvDataDir), deploy.DefaultDataDir)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// trust builds what the CLI pins: the production material named by the
// flags, or the development platform's data folder.
func (c *connFlags) trust(a *app) (*sdk.Trust, error) {
	if c.root == "" {
		if c.enclaveInfo != "" || len(c.auditorKeys) > 0 || len(c.signatures) > 0 {
			return nil, usagef("--enclave-info, --auditor-key and --signature need --root")
		}
		dir := c.resolvedDataDir(a)
		t, err := sdk.TrustFromDataDir(dir)
		if err != nil {
			return nil, withHint(fmt.Errorf("cannot load the platform's trust material: %w", err),
				fmt.Sprintf("point --data-dir or TEACLAVE_DATA_DIR at the data folder of the running platform (now %q), or pin production material with --root", dir))
		}
		return t, nil
	}
	if c.enclaveInfo == "" || len(c.auditorKeys) == 0 || len(c.signatures) == 0 {
		return nil, usagef("--root needs --enclave-info, at least one --auditor-key and at least one --signature")
	}
	var opts []sdk.TrustOption
	if c.threshold > 0 {
		opts = append(opts, sdk.WithThreshold(c.threshold))
	}
	t, err := sdk.LoadTrust(c.root, c.enclaveInfo, c.auditorKeys, c.signatures, opts...)
	if err != nil {
		return nil, withHint(fmt.Errorf("cannot load the pinned trust material: %w", err), "check --root, --enclave-info, --auditor-key and --signature")
	}
	return t, nil
}

// dial connects to service at addr with a raw gRPC connection, verifying
// its attestation with t (for the calls the SDK does not wrap).
func dial(addr, service string, t *sdk.Trust) (*grpc.ClientConn, error) {
	cc, err := rpc.DialAPI(addr, service, t.Verifier(), nil)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	return cc, nil
}

// dialSDK connects an SDK client to the platform named by c. Connections
// are made on first use.
func (a *app) dialSDK(c *connFlags) (*sdk.Client, error) {
	client, _, err := a.dialPlatform(c)
	return client, err
}

// dialPlatform is dialSDK that also returns the pinned platform's
// fingerprint (platformID).
func (a *app) dialPlatform(c *connFlags) (*sdk.Client, string, error) {
	t, err := c.trust(a)
	if err != nil {
		return nil, "", err
	}
	client, err := sdk.Dial(a.ctx, sdk.Config{
		AuthAddr:     c.resolvedAuthAddr(a),
		FrontendAddr: c.resolvedFrontendAddr(a),
		Trust:        t,
		Logger:       slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return nil, "", fmt.Errorf("connect: %w", err)
	}
	return client, platformID(t), nil
}

// platformID fingerprints the platform a trust pins: the SHA-256 of its
// attestation roots. A login is saved with it, and its token is only ever
// sent to a platform with the same fingerprint, so pointing the CLI at
// another platform (another data folder, --root) cannot hand it the token.
func platformID(t *sdk.Trust) string {
	h := sha256.New()
	for _, r := range t.Verifier().Policy().Roots {
		h.Write(r.Cert.Raw)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// session is an SDK client acting as a saved login.
type session struct {
	a      *app
	c      *connFlags
	login  savedLogin
	client *sdk.Client
}

// openSession loads the saved login and the trust material and returns a
// client that acts as that user.
func (a *app) openSession(c *connFlags) (*session, error) {
	login, err := a.session(c.as)
	if err != nil {
		return nil, err
	}
	client, platform, err := a.dialPlatform(c)
	if err != nil {
		return nil, err
	}
	if login.Platform != platform {
		client.Close()
		return nil, withHint(fmt.Errorf("the saved login of %s was made on another platform (another attestation root) than the one now pinned", login.ID),
			fmt.Sprintf("check --data-dir/TEACLAVE_DATA_DIR or --root, or run `teaclave login --id %s` against this platform", login.ID))
	}
	client.SetCredentials(rpc.Credentials{ID: login.ID, Token: login.Token})
	return &session{a: a, c: c, login: login, client: client}, nil
}

// ctx returns the invocation's context with the user's credentials.
func (s *session) ctx() context.Context { return s.client.Context(s.a.ctx) }

// frontend returns the frontend client and a context with the user's
// credentials.
func (s *session) frontend() (*frontend.Client, context.Context) {
	return s.client.Frontend, s.ctx()
}

// auth returns the authentication api client and a context with the
// user's credentials.
func (s *session) auth() (*auth.APIClient, context.Context) {
	return s.client.Auth, s.ctx()
}

func (s *session) Close() { s.client.Close() }

// platformError turns an error from the platform into one that says what
// to do. what names the call ("register function").
func (s *session) platformError(what string, err error) error {
	return explain(what, err, s.login.ID, s.c, s.a)
}

func explain(what string, err error, user string, c *connFlags, a *app) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("%s: %w", what, err)
	switch teaclave.KindOf(err) {
	case teaclave.KindUnauthenticated:
		if user != "" {
			return withHint(err, fmt.Sprintf("the session of %s is no longer valid (expired, or the platform restarted): run `teaclave login --id %s`", user, user))
		}
		return withHint(err, "check the user id and password")
	case teaclave.KindPermissionDenied:
		if user != "" {
			return withHint(err, fmt.Sprintf("%s may not do this: its role or ownership does not allow it (use --as to act as another saved login)", user))
		}
	case teaclave.KindUnavailable:
		msg := err.Error()
		if strings.Contains(msg, "attestation") || strings.Contains(msg, "certificate") || strings.Contains(msg, "handshake") {
			return withHint(err, "the endpoint did not pass attestation: is --data-dir (TEACLAVE_DATA_DIR) the data folder of the platform at this address?")
		}
		return withHint(err, fmt.Sprintf("cannot reach the platform (authentication %s, frontend %s): is it running? Set TEACLAVE_AUTH_ADDR and TEACLAVE_FRONTEND_ADDR", c.resolvedAuthAddr(a), c.resolvedFrontendAddr(a)))
	case teaclave.KindResourceExhausted:
		return withHint(err, "wait a while and try again")
	}
	return err
}
