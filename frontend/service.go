package frontend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/management"
	"github.com/teaclave-go/teaclave/rpc"
)

// Config configures the frontend.
type Config struct {
	// AuthCacheTTL is how long a successful authentication of an id and
	// token is reused without asking the Authenticator again: the longest
	// a revoked token keeps working. Zero means the default, 2 s; negative
	// disables the cache; at most 10 s. Failures are never cached.
	AuthCacheTTL time.Duration
	// AuthCacheSize bounds the cached authentications. Zero means 10 000.
	AuthCacheSize int
	// AuditFlushInterval is how often buffered audit entries are saved
	// through management. Zero means 1 s. (Teaclave waited 30 s.)
	AuditFlushInterval time.Duration
	// AuditBufferSize bounds the audit entries waiting to be saved; when it
	// is full, calls wait for the audit agent rather than go unrecorded.
	// Zero means 10 000.
	AuditBufferSize int
}

// MaxAuthCacheTTL bounds Config.AuthCacheTTL, so that a revoked token
// stops working within seconds.
const MaxAuthCacheTTL = 10 * time.Second

// Defaults returns c with empty fields set to their defaults.
func (c Config) Defaults() Config {
	if c.AuthCacheTTL == 0 {
		c.AuthCacheTTL = 2 * time.Second
	}
	if c.AuthCacheSize == 0 {
		c.AuthCacheSize = 10_000
	}
	if c.AuditFlushInterval == 0 {
		c.AuditFlushInterval = time.Second
	}
	if c.AuditBufferSize == 0 {
		c.AuditBufferSize = 10_000
	}
	return c
}

// Validate checks c.
func (c Config) Validate() error {
	switch {
	case c.AuthCacheTTL > MaxAuthCacheTTL:
		return fmt.Errorf("frontend: config: auth cache TTL %s is over the limit of %s", c.AuthCacheTTL, MaxAuthCacheTTL)
	case c.AuthCacheSize < 1:
		return fmt.Errorf("frontend: config: auth cache size must be positive")
	case c.AuditFlushInterval <= 0:
		return fmt.Errorf("frontend: config: audit flush interval must be positive")
	case c.AuditBufferSize < 1:
		return fmt.Errorf("frontend: config: audit buffer size must be positive")
	}
	return nil
}

// Deps are the frontend's dependencies.
type Deps struct {
	// Authenticator checks users' tokens; required.
	Authenticator Authenticator
	// Authorizer applies the access-control policy; required.
	Authorizer Authorizer
	// Management handles every request once it is authorized; required.
	Management management.API
	// Logger; slog.Default() if nil.
	Logger *slog.Logger
	// Now is the clock; time.Now if nil.
	Now func() time.Time
}

// Service is the frontend: for every call it authenticates the user,
// asks the Authorizer whether the user's role may call the API, forwards
// the request to management with the authenticated teaclave.Caller (never
// a role the client sent), and records an audit entry.
type Service struct {
	cfg    Config
	authn  Authenticator
	authz  Authorizer
	mgmt   management.API
	logger *slog.Logger
	now    func() time.Time
	cache  *authCache
	audit  *auditor

	mu      sync.Mutex
	stop    context.CancelFunc
	stopped chan struct{}
}

// New checks cfg and returns the frontend. It starts nothing: Start runs
// the audit agent.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Authenticator == nil || deps.Authorizer == nil || deps.Management == nil {
		return nil, errors.New("frontend: an Authenticator, an Authorizer and a management API are required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	s := &Service{
		cfg: cfg, authn: deps.Authenticator, authz: deps.Authorizer, mgmt: deps.Management,
		logger: deps.Logger.With("service", "frontend"), now: deps.Now,
	}
	if cfg.AuthCacheTTL > 0 {
		s.cache = newAuthCache(cfg.AuthCacheTTL, cfg.AuthCacheSize)
	}
	s.audit = newAuditor(deps.Management, cfg.AuditBufferSize)
	return s, nil
}

// Start runs the audit agent, which saves buffered audit entries through
// management every Config.AuditFlushInterval.
func (s *Service) Start(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop != nil {
		return errors.New("frontend: already started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop, s.stopped = cancel, make(chan struct{})
	go s.auditAgent(ctx, s.stopped)
	return nil
}

// Stop stops the audit agent and saves what it still holds.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	stop, stopped := s.stop, s.stopped
	s.stop = nil
	s.mu.Unlock()
	if stop != nil {
		stop()
		<-stopped
	}
	return s.FlushAudit(ctx)
}

func (s *Service) auditAgent(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(s.cfg.AuditFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.audit.kick:
		}
		if err := s.audit.flush(ctx); err != nil && ctx.Err() == nil {
			s.logger.Warn("saving audit entries failed; keeping them for the next try", "error", err, "pending", s.audit.pending())
		}
	}
}

// FlushAudit saves every buffered audit entry now.
func (s *Service) FlushAudit(ctx context.Context) error {
	if err := s.audit.flush(ctx); err != nil {
		return fmt.Errorf("frontend: save audit entries: %w", err)
	}
	return nil
}

// Register registers the TeaclaveFrontend service on r, which should be
// an API endpoint of the attested transport.
func (s *Service) Register(r grpc.ServiceRegistrar) { RegisterServer(r, s) }

// handle is every RPC: authenticate, authorize, forward, audit.
func handle[Req, Resp any](s *Service, ctx context.Context, api string, req Req, forward func(context.Context, Req) (Resp, error)) (Resp, error) {
	var zero Resp
	ip := clientIP(ctx)
	caller, err := s.authenticate(ctx)
	if err != nil {
		s.record(ctx, ip, "", "authenticate to "+api+": "+err.Error(), false)
		return zero, err
	}
	user := display(caller)
	ok, err := s.authz.Authorize(ctx, caller.Role.Name(), api)
	if err != nil {
		s.logger.ErrorContext(ctx, "access control failed", "api", api, "error", err)
		s.record(ctx, ip, user, "authorize "+api+": access control unavailable", false)
		return zero, teaclave.Wrap(teaclave.KindUnavailable, "access control unavailable", err)
	}
	if !ok {
		s.record(ctx, ip, user, "authorize "+api+": permission denied", false)
		return zero, teaclave.Errorf(teaclave.KindPermissionDenied, "permission denied")
	}
	resp, err := forward(teaclave.WithCaller(ctx, caller), req)
	if err != nil {
		s.record(ctx, ip, user, api+":"+statusText(err), false)
		return zero, err
	}
	s.record(ctx, ip, user, api, true)
	return resp, nil
}

// authenticate returns the caller whose credentials ctx carries.
func (s *Service) authenticate(ctx context.Context) (teaclave.Caller, error) {
	creds, err := credentialsOf(ctx)
	if err != nil {
		return teaclave.Caller{}, err
	}
	now := s.now()
	if s.cache != nil {
		if c, ok := s.cache.get(creds, now); ok {
			return c, nil
		}
	}
	c, err := s.authn.Authenticate(ctx, creds.ID, creds.Token)
	if err != nil {
		switch k := teaclave.KindOf(err); k {
		case teaclave.KindUnauthenticated:
			return teaclave.Caller{}, teaclave.Errorf(teaclave.KindUnauthenticated, "incorrect credential")
		case teaclave.KindCanceled, teaclave.KindDeadlineExceeded:
			return teaclave.Caller{}, teaclave.Wrap(k, k.String(), err)
		}
		s.logger.ErrorContext(ctx, "authentication service failed", "error", err)
		return teaclave.Caller{}, teaclave.Wrap(teaclave.KindUnavailable, "authentication service unavailable", err)
	}
	if c.ID != creds.ID || !c.Role.Valid() {
		// A token of another user, or of no role, is no credential.
		return teaclave.Caller{}, teaclave.Errorf(teaclave.KindUnauthenticated, "incorrect credential")
	}
	if s.cache != nil {
		s.cache.put(creds, c, now)
	}
	return c, nil
}

// display renders a caller as Teaclave's audit entries show claims:
// "{ user: alice, role: DataOwner(\"org1\") }".
func display(c teaclave.Caller) string {
	role := c.Role.Name()
	if k := c.Role.Kind; k == teaclave.RoleDataOwner || k == teaclave.RoleDataOwnerManager {
		role += "(" + strconv.Quote(c.Role.Attribute) + ")"
	}
	return "{ user: " + c.ID + ", role: " + role + " }"
}

// statusText renders an error as a status, in the manner of Teaclave's
// audit messages: `status: PermissionDenied, message: "permission denied"`.
func statusText(err error) string {
	var te *teaclave.Error
	msg := "internal error"
	if errors.As(err, &te) && te.Kind != teaclave.KindUnknown {
		msg = te.Error()
	}
	return "status: " + rpc.KindCode(teaclave.KindOf(err)).String() + ", message: " + strconv.Quote(msg)
}

// record appends an audit entry. It waits while the buffer is full, so
// that load never leaves calls unrecorded; if ctx ends first the entry is
// lost and logged.
func (s *Service) record(ctx context.Context, ip netip.Addr, user, msg string, ok bool) {
	if err := s.audit.add(ctx, entry(s.now(), ip, user, msg, ok)); err != nil {
		s.logger.ErrorContext(ctx, "audit entry lost: the audit buffer stayed full", "message", msg, "result", ok)
	}
}
