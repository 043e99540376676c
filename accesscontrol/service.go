package accesscontrol

import (
	"context"
	"log/slog"

	"github.com/teaclave-go/teaclave"
)

var (
	_ Authorizer = (*Service)(nil)
	_ Authorizer = (*Client)(nil)
)

// Config configures the access control service. It has no settings yet:
// the policy is compiled in and nothing about it may come from the host.
type Config struct{}

// Defaults returns the default configuration.
func Defaults() Config { return Config{} }

// Validate reports whether the configuration is usable.
func (Config) Validate() error { return nil }

// Deps are the service's dependencies. A nil Logger discards logs.
type Deps struct {
	Logger *slog.Logger
}

// Service is the in-process access control service, an Authorizer over
// DefaultPolicy. It is safe for concurrent use.
type Service struct {
	policy *Policy
	log    *slog.Logger
}

// New returns the service. It starts nothing.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{policy: DefaultPolicy(), log: log.With("service", "access_control")}, nil
}

// Start starts the service; there is nothing to start.
func (s *Service) Start(context.Context) error { return nil }

// Stop stops the service; there is nothing to stop.
func (s *Service) Stop(context.Context) error { return nil }

// Authorize implements Authorizer. Names longer than MaxNameLen are an
// InvalidArgument error.
func (s *Service) Authorize(ctx context.Context, role, api string) (bool, error) {
	if len(role) > MaxNameLen || len(api) > MaxNameLen {
		return false, teaclave.Errorf(teaclave.KindInvalidArgument,
			"access control: role or api name longer than %d bytes", MaxNameLen)
	}
	ok := s.policy.Allows(role, api)
	if !ok {
		s.log.DebugContext(ctx, "access denied", "role", role, "api", api)
	}
	return ok, nil
}
