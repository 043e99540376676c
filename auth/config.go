package auth

import (
	"fmt"
	"net"
	"strconv"
	"time"
)

// Limits on what the service accepts. They are constants, not settings:
// they bound memory and keep every id usable as gRPC metadata.
const (
	// MaxIDLen is the longest user id, in bytes. Ids are printable ASCII
	// without spaces (0x21 to 0x7e), because they travel as gRPC metadata.
	MaxIDLen = 256
	// MaxAttributeLen is the longest role attribute, in bytes; attributes
	// follow the id rules but may be empty.
	MaxAttributeLen = 256
	// MaxPasswordLen is the longest password, in bytes. Passwords are never
	// empty.
	MaxPasswordLen = 1024
	// MaxTokenLen is the longest token UserAuthenticate looks at, in bytes.
	// The tokens this service issues are about 400 bytes.
	MaxTokenLen = 4096
	// MaxUsersExist is the most ids one UsersExist call may ask about.
	MaxUsersExist = 1024
)

// Issuer is the JWT issuer, Teaclave's.
const Issuer = "Teaclave"

// PasswordParams are argon2id parameters (RFC 9106). Salts are 16 random
// bytes and hashes 32 bytes. The defaults are OWASP's second
// recommendation (19 MiB, 2 passes, 1 lane): a hash costs some tens of
// milliseconds and 19 MiB of enclave memory, and Config.MaxConcurrentHashes
// bounds how many run at once. Every stored hash records its parameters, so
// raising them later affects new hashes and old ones keep verifying.
type PasswordParams struct {
	// Time is the number of passes over the memory.
	Time uint32
	// MemoryKiB is the memory size in KiB.
	MemoryKiB uint32
	// Threads is the degree of parallelism (lanes).
	Threads uint8
}

// DefaultPasswordParams returns the default argon2id parameters.
func DefaultPasswordParams() PasswordParams {
	return PasswordParams{Time: 2, MemoryKiB: 19 * 1024, Threads: 1}
}

// Upper bounds on argon2id parameters, for configuration and for stored
// hashes alike, so that neither can make a login allocate without bound.
const (
	maxPasswordTime    = 16
	maxPasswordMemory  = 1 << 20 // 1 GiB
	maxPasswordThreads = 16
)

// Validate checks the parameters against argon2's rules, the upper bounds
// above, and, in production builds, a floor equivalent to OWASP's weakest
// recommendation (at least 7 MiB, and memory × passes at least 35 MiB).
func (p PasswordParams) Validate() error {
	switch {
	case p.Time < 1 || p.Time > maxPasswordTime:
		return fmt.Errorf("argon2id time %d is outside [1, %d]", p.Time, maxPasswordTime)
	case p.Threads < 1 || p.Threads > maxPasswordThreads:
		return fmt.Errorf("argon2id threads %d is outside [1, %d]", p.Threads, maxPasswordThreads)
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxPasswordMemory:
		return fmt.Errorf("argon2id memory %d KiB is outside [8×threads, %d]", p.MemoryKiB, maxPasswordMemory)
	}
	if productionBuild && (p.MemoryKiB < 7*1024 || uint64(p.MemoryKiB)*uint64(p.Time) < 35*1024) {
		return fmt.Errorf("argon2id parameters (time %d, memory %d KiB) are below the production floor", p.Time, p.MemoryKiB)
	}
	return nil
}

// ThrottleConfig configures login throttling, which counts failed logins
// per user id, for ids that exist and ids that do not alike (so throttling
// reveals nothing about which exist).
//
// The first FreeAttempts failures cost nothing. After that an id must wait
// before its next attempt: BaseDelay after the first throttled failure,
// doubling with each further failure up to MaxDelay, and only one attempt
// may be in flight. At LockAfter failures the id is locked for
// LockDuration: every attempt is refused without looking at the password,
// the right one included. The count is forgotten LockDuration after the
// last failure, and at a successful login. A refused attempt does not
// count as a failure.
//
// The counts live in memory: a restart forgets them. That is the host's
// power anyway (it can restart the enclave at will); what it cannot do is
// make a password check cheaper than argon2id.
type ThrottleConfig struct {
	FreeAttempts int
	BaseDelay    time.Duration
	MaxDelay     time.Duration
	LockAfter    int
	LockDuration time.Duration
	// MaxTracked bounds the number of ids tracked at once. When it is
	// reached, ids whose count has expired or is still below FreeAttempts
	// are dropped; if none can be, logins of untracked ids are refused
	// until some can.
	MaxTracked int
}

// DefaultThrottleConfig returns the default throttling: 5 free failures,
// then 1 s doubling to 1 min, and a 15 min lock at 10 failures.
func DefaultThrottleConfig() ThrottleConfig {
	return ThrottleConfig{
		FreeAttempts: 5,
		BaseDelay:    time.Second,
		MaxDelay:     time.Minute,
		LockAfter:    10,
		LockDuration: 15 * time.Minute,
		MaxTracked:   100_000,
	}
}

// Validate checks the throttling settings.
func (c ThrottleConfig) Validate() error {
	switch {
	case c.FreeAttempts < 1:
		return fmt.Errorf("throttle: FreeAttempts %d < 1", c.FreeAttempts)
	case c.LockAfter <= c.FreeAttempts:
		return fmt.Errorf("throttle: LockAfter %d must exceed FreeAttempts %d", c.LockAfter, c.FreeAttempts)
	case c.BaseDelay <= 0 || c.MaxDelay < c.BaseDelay:
		return fmt.Errorf("throttle: need 0 < BaseDelay (%v) <= MaxDelay (%v)", c.BaseDelay, c.MaxDelay)
	case c.LockDuration < c.MaxDelay:
		return fmt.Errorf("throttle: LockDuration %v is shorter than MaxDelay %v", c.LockDuration, c.MaxDelay)
	case c.MaxTracked < 1:
		return fmt.Errorf("throttle: MaxTracked %d < 1", c.MaxTracked)
	}
	return nil
}

// Config configures the authentication service. Start from Defaults().
// Nothing in it is a trust decision and no password ever comes from it.
type Config struct {
	// APIAddress is where the client-facing endpoint listens (host:port).
	// Development builds default to 127.0.0.1:7776, production builds to
	// 0.0.0.0:7776 (Teaclave's port).
	APIAddress string
	// InternalAddress is where the internal endpoint listens; defaults
	// 127.0.0.1:17776 and 0.0.0.0:17776 likewise.
	InternalAddress string
	// TokenLifetime is how long a token from UserLogin is valid: 24 h, as
	// in Teaclave. At most 30 days.
	TokenLifetime time.Duration
	// Password are the argon2id parameters of new hashes.
	Password PasswordParams
	// MaxConcurrentHashes bounds the password hashes computed at once, and
	// so their memory (MaxConcurrentHashes × Password.MemoryKiB). Logins
	// beyond it wait.
	MaxConcurrentHashes int
	// Throttle configures login throttling.
	Throttle ThrottleConfig
	// DevelopmentAdmin seeds user admin with password teaclave and role
	// PlatformAdmin at Start when the user database is empty, as
	// Teaclave's examples expect. It defaults to true in development builds
	// and must be false in production builds, where the first
	// PlatformAdmin comes from the one-time Bootstrap RPC.
	DevelopmentAdmin bool
}

// Defaults returns the default configuration of this build.
func Defaults() Config {
	host := "0.0.0.0"
	if !productionBuild {
		host = "127.0.0.1"
	}
	return Config{
		APIAddress:          net.JoinHostPort(host, "7776"),
		InternalAddress:     net.JoinHostPort(host, "17776"),
		TokenLifetime:       24 * time.Hour,
		Password:            DefaultPasswordParams(),
		MaxConcurrentHashes: 4,
		Throttle:            DefaultThrottleConfig(),
		DevelopmentAdmin:    !productionBuild,
	}
}

// Validate reports the first problem with the configuration.
func (c Config) Validate() error {
	for _, a := range []struct{ name, addr string }{{"APIAddress", c.APIAddress}, {"InternalAddress", c.InternalAddress}} {
		if err := validateAddress(a.addr); err != nil {
			return fmt.Errorf("auth config: %s: %w", a.name, err)
		}
	}
	if c.TokenLifetime < time.Second || c.TokenLifetime > 30*24*time.Hour {
		return fmt.Errorf("auth config: TokenLifetime %v is outside [1s, 720h]", c.TokenLifetime)
	}
	if err := c.Password.Validate(); err != nil {
		return fmt.Errorf("auth config: %w", err)
	}
	if c.MaxConcurrentHashes < 1 || c.MaxConcurrentHashes > 1024 {
		return fmt.Errorf("auth config: MaxConcurrentHashes %d is outside [1, 1024]", c.MaxConcurrentHashes)
	}
	if err := c.Throttle.Validate(); err != nil {
		return fmt.Errorf("auth config: %w", err)
	}
	if c.DevelopmentAdmin && productionBuild {
		return fmt.Errorf("auth config: DevelopmentAdmin is not available in production builds")
	}
	return nil
}

func validateAddress(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has no valid port", addr)
	}
	return nil
}
