package management

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strings"

	"google.golang.org/grpc"

	"github.com/teaclave-go/teaclave"
)

// Directory answers whether user ids exist. Management checks every owner
// and allowlisted user through it. auth.Service and auth.Client implement
// it (in process, or over the authentication service's internal
// extension).
type Directory interface {
	// UsersExist reports, for each id in order, whether a user with that
	// id exists. Management asks about at most MaxDirectoryBatch ids per
	// call.
	UsersExist(ctx context.Context, ids []string) ([]bool, error)
}

// Config configures the management service. Every field comes from the
// deployment; none of them is a trust decision beyond what the operator
// already controls (where files may be read from, whether plaintext inputs
// are allowed).
type Config struct {
	// AllowRawInputs lets users register input files with the "raw"
	// (plaintext) schema. Off by default: such files have no integrity
	// check at all. The development platform turns it on for Teaclave's
	// examples.
	AllowRawInputs bool
	// FileRoots are the absolute, clean folders under which file:// URLs
	// may point. Empty means file:// URLs are refused.
	FileRoots []string
	// CommitAttempts bounds the read-modify-commit retries of one call
	// when other calls change the same records concurrently. Zero means
	// the default, 32.
	CommitAttempts int
	// AuditScanLimit bounds how many audit entries one QueryAuditLogs call
	// examines, newest first. Zero means the default, 100 000.
	AuditScanLimit int
}

// Defaults returns c with empty fields set to their defaults.
func (c Config) Defaults() Config {
	if c.CommitAttempts == 0 {
		c.CommitAttempts = 32
	}
	if c.AuditScanLimit == 0 {
		c.AuditScanLimit = 100_000
	}
	return c
}

// Validate checks c.
func (c Config) Validate() error {
	if c.CommitAttempts < 1 || c.CommitAttempts > 1000 {
		return fmt.Errorf("management: config: commit attempts must be 1 to 1000, got %d", c.CommitAttempts)
	}
	if c.AuditScanLimit < 1 {
		return fmt.Errorf("management: config: audit scan limit must be positive, got %d", c.AuditScanLimit)
	}
	for _, r := range c.FileRoots {
		if !path.IsAbs(r) || path.Clean(r) != r || r == "/" {
			return fmt.Errorf("management: config: file root %q must be an absolute, clean folder other than /", r)
		}
		if strings.ContainsAny(r, "%?#") {
			return fmt.Errorf("management: config: file root %q contains a URL metacharacter", r)
		}
	}
	return nil
}

// Deps are the service's dependencies.
type Deps struct {
	// Store holds every record; required. It is the storage service, in
	// process or over gRPC.
	Store teaclave.Store
	// Directory checks that user ids exist; required.
	Directory Directory
	// Logger; slog.Default() if nil.
	Logger *slog.Logger
}

// Service is the management service: it validates requests, checks
// ownership and persists functions, files, tasks and the audit log. It
// keeps no state of its own, so any number of calls may run at once;
// concurrent changes of one record are resolved by conditional commits.
type Service struct {
	cfg    Config
	store  teaclave.Store
	dir    Directory
	logger *slog.Logger
}

// New checks cfg and returns the service. It starts nothing.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Store == nil || deps.Directory == nil {
		return nil, errors.New("management: a Store and a Directory are required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	return &Service{cfg: cfg, store: deps.Store, dir: deps.Directory, logger: deps.Logger.With("service", "management")}, nil
}

// Start starts the service. Management has no background work; Start
// exists so that every service has the same life cycle.
func (s *Service) Start(context.Context) error { return nil }

// Stop stops the service.
func (s *Service) Stop(context.Context) error { return nil }

// Register registers the TeaclaveManagement service on r, which must be an
// internal endpoint of the attested transport: the endpoint admits only
// the frontend, and the caller travels as metadata that only an attested
// frontend may set.
func (s *Service) Register(r grpc.ServiceRegistrar) { RegisterServer(r, s) }
