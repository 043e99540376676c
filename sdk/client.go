package sdk

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/auth"
	"github.com/teaclave-go/teaclave/frontend"
	"github.com/teaclave-go/teaclave/rpc"
)

// Config is what Dial needs.
type Config struct {
	// AuthAddr is the authentication service's api endpoint, host:port
	// (Teaclave's default port is 7776).
	AuthAddr string
	// FrontendAddr is the frontend's endpoint, host:port (default 7777).
	FrontendAddr string
	// Trust verifies both endpoints' attestation; required. Use
	// InsecureSkipVerification, explicitly, to verify nothing.
	Trust *Trust
	// Logger receives the SDK's warnings; nil means slog.Default().
	Logger *slog.Logger
	// PollInterval is Wait's first delay between GetTask calls, doubled up
	// to MaxPollInterval; zero means 100ms and 2s.
	PollInterval, MaxPollInterval time.Duration
	// Now is the clock attestation is verified with; nil means time.Now.
	Now func() time.Time
	// DialOptions are added to both connections' options.
	DialOptions []grpc.DialOption
}

// Client is a session with a platform: attested connections to the
// authentication api endpoint and the frontend, and the credentials of the
// user who logged in. Its methods are safe for concurrent use.
type Client struct {
	// Auth is the authentication api client. Its calls authenticate with
	// the credentials Context adds.
	Auth *auth.APIClient
	// Frontend is the frontend client. Its calls authenticate with the
	// credentials Context adds.
	Frontend *frontend.Client

	authConn, frontendConn *grpc.ClientConn
	logger                 *slog.Logger
	pollMin, pollMax       time.Duration

	mu    sync.RWMutex
	creds rpc.Credentials
}

// Dial connects to the platform's endpoints. Connections are made lazily,
// so an unreachable or unverifiable endpoint shows in the first call, as a
// *teaclave.Error of kind Unavailable. ctx is not kept.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cfg.AuthAddr == "" || cfg.FrontendAddr == "" {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: Config needs AuthAddr and FrontendAddr")
	}
	if cfg.Trust == nil {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: Config needs a Trust (LoadTrust, TrustFromDataDir, or InsecureSkipVerification for development)")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	c := &Client{logger: logger, pollMin: cfg.PollInterval, pollMax: cfg.MaxPollInterval}
	if c.pollMin <= 0 {
		c.pollMin = 100 * time.Millisecond
	}
	if c.pollMax <= 0 {
		c.pollMax = 2 * time.Second
	}
	if c.pollMax < c.pollMin {
		c.pollMax = c.pollMin
	}
	dial := func(addr, service string) (*grpc.ClientConn, error) {
		if cfg.Trust.Insecure() {
			return dialInsecure(addr, cfg.DialOptions)
		}
		return rpc.DialAPI(addr, service, cfg.Trust.Verifier(), cfg.Now, cfg.DialOptions...)
	}
	if cfg.Trust.Insecure() && attestation.ProductionBuild {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: InsecureSkipVerification is refused in production builds (teaclave_production)")
	}
	if cfg.Trust.Insecure() {
		logger.Warn("sdk: INSECURE: attestation verification is disabled; anyone on the network path can impersonate the platform and read passwords, tokens and keys",
			"auth", cfg.AuthAddr, "frontend", cfg.FrontendAddr)
	}
	var err error
	if c.authConn, err = dial(cfg.AuthAddr, attestation.ServiceAuthentication); err != nil {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: %w", err)
	}
	if c.frontendConn, err = dial(cfg.FrontendAddr, attestation.ServiceFrontend); err != nil {
		c.authConn.Close()
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: %w", err)
	}
	c.Auth = auth.NewAPIClient(c.authConn)
	c.Frontend = frontend.NewClient(c.frontendConn)
	return c, nil
}

// dialInsecure connects with TLS that accepts any certificate.
func dialInsecure(addr string, extra []grpc.DialOption) (*grpc.ClientConn, error) {
	tc := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12} //nolint:gosec // explicitly requested insecure mode
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(credentials.NewTLS(tc)),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(rpc.MaxMessageSize), grpc.MaxCallSendMsgSize(rpc.MaxMessageSize)),
		grpc.WithChainUnaryInterceptor(rpc.UnaryClientErrors),
	}
	return grpc.NewClient(addr, append(opts, extra...)...)
}

// Close closes both connections.
func (c *Client) Close() error {
	return errors.Join(c.authConn.Close(), c.frontendConn.Close())
}

// Login logs user id in and keeps the token: every later call of c
// authenticates as that user.
func (c *Client) Login(ctx context.Context, id, password string) error {
	token, err := c.Auth.UserLogin(ctx, id, password)
	if err != nil {
		return err
	}
	c.SetCredentials(rpc.Credentials{ID: id, Token: token})
	return nil
}

// SetCredentials makes c authenticate as the user with these credentials
// (a token from an earlier Login, for instance).
func (c *Client) SetCredentials(creds rpc.Credentials) {
	c.mu.Lock()
	c.creds = creds
	c.mu.Unlock()
}

// Credentials returns the credentials c authenticates with, and whether it
// has any.
func (c *Client) Credentials() (rpc.Credentials, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.creds, c.creds.ID != ""
}

// UserID returns the id of the logged-in user, empty before Login.
func (c *Client) UserID() string {
	creds, _ := c.Credentials()
	return creds.ID
}

// Context returns ctx carrying the logged-in user's credentials for calls
// of c.Auth and c.Frontend. Before Login it returns ctx unchanged.
func (c *Client) Context(ctx context.Context) context.Context {
	creds, ok := c.Credentials()
	if !ok {
		return ctx
	}
	return auth.WithAPICredentials(frontend.WithCredentials(ctx, creds), creds)
}

// loggedIn returns ctx with credentials, or an Unauthenticated error
// before Login.
func (c *Client) loggedIn(ctx context.Context) (context.Context, error) {
	creds, ok := c.Credentials()
	if !ok {
		return nil, teaclave.Errorf(teaclave.KindUnauthenticated, "sdk: not logged in: call Login first")
	}
	return auth.WithAPICredentials(frontend.WithCredentials(ctx, creds), creds), nil
}
