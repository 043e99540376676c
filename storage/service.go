package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"

	"google.golang.org/grpc"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/storage/leveldb"
	"github.com/teaclave-go/teaclave/storage/sealfs"
)

// SealPurpose is the label under which the storage key is derived from the
// enclave's Sealer. Changing it makes every existing database unreadable.
const SealPurpose = "teaclave-go storage database v1"

// Config configures the storage service.
type Config struct {
	// DataDir is the folder of the sealed database; it is created if
	// missing. Required.
	DataDir string
	// Sync is the sync policy: "every-commit" (the default: a write is
	// acknowledged once it is on disk, concurrent writers sharing syncs)
	// or "none" (for tests and benchmarks).
	Sync string
}

// Defaults returns c with empty fields set to their defaults.
func (c Config) Defaults() Config {
	if c.Sync == "" {
		c.Sync = leveldb.SyncEveryCommit.String()
	}
	return c
}

// Validate checks c.
func (c Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("storage: config: data folder is required")
	}
	if _, err := leveldb.ParseSyncPolicy(c.Sync); err != nil {
		return fmt.Errorf("storage: config: %w", err)
	}
	return nil
}

// Deps are what the service needs from its host.
type Deps struct {
	// Sealer gives the storage key; required.
	Sealer attestation.Sealer
	// Logger; slog.Default() if nil.
	Logger *slog.Logger
}

// Service is the storage service. New makes it; Start opens the database.
type Service struct {
	cfg    Config
	sync   leveldb.SyncPolicy
	sealer attestation.Sealer
	logger *slog.Logger

	mu    sync.Mutex
	stor  *sealfs.Storage // closed after store
	store *leveldb.Store
}

// New checks cfg and returns a service that has opened nothing yet.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Sealer == nil {
		return nil, errors.New("storage: a Sealer is required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	policy, _ := leveldb.ParseSyncPolicy(cfg.Sync)
	return &Service{cfg: cfg, sync: policy, sealer: deps.Sealer, logger: deps.Logger.With("component", "storage")}, nil
}

// Start derives the storage key and opens the sealed database. A key that
// does not open an existing database is refused with an error saying so.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.store != nil {
		return errors.New("storage: already started")
	}
	key, err := s.sealer.Key(ctx, SealPurpose)
	if err != nil {
		return fmt.Errorf("storage: storage key: %w", err)
	}
	dir := filepath.Clean(s.cfg.DataDir)
	stor, err := sealfs.Open(dir, key, nil)
	clear(key)
	if err != nil {
		if errors.Is(err, sealfs.ErrWrongKey) {
			return fmt.Errorf("storage: the database in %s was sealed by another enclave or key; refusing to open it: %w", dir, err)
		}
		return fmt.Errorf("storage: open sealed folder %s: %w", dir, err)
	}
	store, err := leveldb.OpenStorage(stor, &leveldb.Options{Sync: s.sync, Logger: s.logger})
	if err != nil {
		stor.Close()
		return fmt.Errorf("storage: open database in %s: %w", dir, err)
	}
	s.stor, s.store = stor, store
	s.logger.Info("storage started", "dir", dir, "sync", s.sync.String())
	return nil
}

// Stop closes the database; acknowledged writes are already on disk.
func (s *Service) Stop(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.store == nil {
		return nil
	}
	err := errors.Join(s.store.Close(), s.stor.Close())
	s.store, s.stor = nil, nil
	if err != nil {
		return fmt.Errorf("storage: close: %w", err)
	}
	s.logger.Info("storage stopped")
	return nil
}

// Store returns the open database as a teaclave.Store, or nil before Start.
func (s *Service) Store() teaclave.Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.store == nil {
		return nil
	}
	return s.store
}

// Register registers the storage services on r, which should be an
// internal endpoint of the attested transport (it admits only management
// and scheduler). Calls fail Unavailable until Start.
func (s *Service) Register(r grpc.ServiceRegistrar) {
	NewServer(s).Register(r)
}
