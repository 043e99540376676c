package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/teaclave-go/teaclave"
)

// Authenticator verifies the tokens users present. The frontend calls it
// for every request; the Service implements it in process and Client over
// gRPC (TeaclaveAuthenticationInternal.UserAuthenticate).
type Authenticator interface {
	// UserAuthenticate returns the claims of token if it is a valid token
	// of user id. Every failure is the same Unauthenticated error
	// "authentication failed"; other kinds mean the check could not be
	// made (the service is unavailable or its store failed).
	UserAuthenticate(ctx context.Context, id, token string) (Claims, error)
}

// Directory answers questions about users that need no credentials of
// theirs. Management uses it to check that owner ids exist; the Service
// implements it in process and Client over gRPC (the
// TeaclaveAuthenticationInternalExt.UsersExist extension).
type Directory interface {
	// UsersExist reports, for each id in order, whether a user with that
	// id exists. A malformed id does not exist. At most MaxUsersExist ids
	// per call; more is an InvalidArgument error.
	UsersExist(ctx context.Context, ids []string) ([]bool, error)
}

var (
	_ Authenticator = (*Service)(nil)
	_ Directory     = (*Service)(nil)
	_ Authenticator = (*Client)(nil)
	_ Directory     = (*Client)(nil)
)

// Clock tells the time; tests inject a fake one to drive token expiry and
// login throttling.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Deps are the service's dependencies.
type Deps struct {
	// Store holds the user database, the token key and the generation
	// counter. It must be a store of the authentication service's own
	// (Teaclave keeps users apart from the storage service), and the
	// caller must seal it: the token key is stored in it as is. Required.
	Store teaclave.Store
	// Clock defaults to the system clock.
	Clock Clock
	// Logger defaults to discarding. Nothing secret is ever logged.
	Logger *slog.Logger
}

// Service is the authentication service: users, logins, tokens. Build it
// with New and call Start before use; it is safe for concurrent use.
type Service struct {
	cfg      Config
	store    teaclave.Store
	clock    Clock
	log      *slog.Logger
	hasher   *hasher
	throttle *throttle

	// secret is the token key, set by Start before started is set.
	secret  []byte
	startMu sync.Mutex
	started atomic.Bool
	stopped atomic.Bool
}

// New returns a service over deps.Store. It validates cfg and starts
// nothing: Start loads the token key and bootstraps the user database.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Store == nil {
		return nil, errors.New("auth: Deps.Store is required")
	}
	clock := deps.Clock
	if clock == nil {
		clock = systemClock{}
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h, err := newHasher(cfg.Password, cfg.MaxConcurrentHashes)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return &Service{
		cfg:      cfg,
		store:    deps.Store,
		clock:    clock,
		log:      log.With("service", "authentication"),
		hasher:   h,
		throttle: newThrottle(cfg.Throttle),
	}, nil
}

// Start loads the token key from the store (creating it on the first
// start), then bootstraps: a development build with
// Config.DevelopmentAdmin seeds admin/teaclave into an empty user
// database; a production build refuses to start while user admin still has
// the password teaclave. Start runs once; later calls do nothing.
func (s *Service) Start(ctx context.Context) error {
	s.startMu.Lock()
	defer s.startMu.Unlock()
	if s.started.Load() {
		return nil
	}
	secret, err := s.loadSecret(ctx)
	if err != nil {
		return err
	}
	s.secret = secret
	if s.cfg.DevelopmentAdmin {
		if err := s.seedDevelopmentAdmin(ctx); err != nil {
			return err
		}
	}
	if productionBuild {
		if err := s.refuseDevelopmentPassword(ctx); err != nil {
			return err
		}
	}
	s.started.Store(true)
	s.log.InfoContext(ctx, "authentication service started")
	return nil
}

// Stop stops the service: later calls fail with Unavailable. It holds no
// goroutines or connections of its own.
func (s *Service) Stop(context.Context) error {
	s.stopped.Store(true)
	return nil
}

// ready refuses calls before Start and after Stop.
func (s *Service) ready() error {
	if !s.started.Load() || s.stopped.Load() {
		return teaclave.Errorf(teaclave.KindUnavailable, "authentication service is not running")
	}
	return nil
}
