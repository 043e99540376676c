package deploy

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Environment variables that override the configuration; the CLI reads the
// same ones to find the platform.
const (
	EnvAuthAddr     = "TEACLAVE_AUTH_ADDR"
	EnvFrontendAddr = "TEACLAVE_FRONTEND_ADDR"
	EnvDataDir      = "TEACLAVE_DATA_DIR"
)

// Default ports of Teaclave's api endpoints.
const (
	DefaultAuthAddr     = "127.0.0.1:7776"
	DefaultFrontendAddr = "127.0.0.1:7777"
	DefaultDataDir      = "teaclave-data"
)

// Endpoint is where a service listens, and for internal endpoints where
// others reach it.
type Endpoint struct {
	ListenAddress     string `toml:"listen_address"`
	AdvertisedAddress string `toml:"advertised_address"`
}

// PathRef names a file, as Teaclave's config does ({ path = "..." }).
type PathRef struct {
	Path string `toml:"path"`
}

// Config is a deployment's configuration.
type Config struct {
	APIEndpoints struct {
		Authentication Endpoint `toml:"authentication"`
		Frontend       Endpoint `toml:"frontend"`
	} `toml:"api_endpoints"`
	// InternalEndpoints are keyed by Teaclave's short service names:
	// authentication, management, storage, access_control, scheduler.
	// The all-in-one platform opens none of them.
	InternalEndpoints map[string]Endpoint `toml:"internal_endpoints"`
	Audit             struct {
		// EnclaveInfo and AuditorSignatures are read at start in
		// multi-process and SGX deployments; the development platform
		// writes them into the data folder itself.
		EnclaveInfo       PathRef   `toml:"enclave_info"`
		AuditorSignatures []PathRef `toml:"auditor_signatures"`
	} `toml:"audit"`
	Attestation struct {
		// URL of the endorsing attestation service (SGX deployments).
		URL string `toml:"url"`
	} `toml:"attestation"`
	Data struct {
		// Dir holds the sealed databases and, in development builds, the
		// trust material clients need.
		Dir string `toml:"dir"`
	} `toml:"data"`
	Execution struct {
		// Workers is how many tasks the in-process execution node runs
		// at once.
		Workers int `toml:"workers"`
		// FileAgentAllowlist lists host:port pairs the file agent may
		// reach although they are loopback or private addresses.
		FileAgentAllowlist []string `toml:"file_agent_allowlist"`
	} `toml:"execution"`
}

// Default returns the development platform's configuration: api endpoints
// on 127.0.0.1 at Teaclave's ports, data in ./teaclave-data, two workers,
// and the file agent allowed to reach Teaclave's example file server.
func Default() Config {
	var c Config
	c.APIEndpoints.Authentication.ListenAddress = DefaultAuthAddr
	c.APIEndpoints.Frontend.ListenAddress = DefaultFrontendAddr
	c.Data.Dir = DefaultDataDir
	c.Execution.Workers = 2
	c.Execution.FileAgentAllowlist = []string{"127.0.0.1:6789", "localhost:6789"}
	return c
}

// Load reads a configuration file over the defaults. Unknown keys are
// refused, so a misspelt setting never silently falls back to a default.
func Load(path string) (Config, error) {
	c := Default()
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("deploy: read config: %w", err)
	}
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		return Config{}, fmt.Errorf("deploy: config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return Config{}, fmt.Errorf("deploy: config %s: unknown settings: %s", path, strings.Join(keys, ", "))
	}
	return c, nil
}

// ApplyEnv overrides the configuration from the environment variables
// EnvAuthAddr, EnvFrontendAddr and EnvDataDir, as looked up by getenv.
func (c *Config) ApplyEnv(getenv func(string) string) {
	if v := getenv(EnvAuthAddr); v != "" {
		c.APIEndpoints.Authentication.ListenAddress = v
	}
	if v := getenv(EnvFrontendAddr); v != "" {
		c.APIEndpoints.Frontend.ListenAddress = v
	}
	if v := getenv(EnvDataDir); v != "" {
		c.Data.Dir = v
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	check := func(name, addr string) {
		if err := checkAddress(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	check("api_endpoints.authentication.listen_address", c.APIEndpoints.Authentication.ListenAddress)
	check("api_endpoints.frontend.listen_address", c.APIEndpoints.Frontend.ListenAddress)
	for name, ep := range c.InternalEndpoints {
		if InternalServiceName(name) == "" {
			errs = append(errs, fmt.Errorf("internal_endpoints.%s: unknown service (want one of authentication, management, storage, access_control, scheduler)", name))
			continue
		}
		check("internal_endpoints."+name+".listen_address", ep.ListenAddress)
	}
	if c.Data.Dir == "" {
		errs = append(errs, errors.New("data.dir: a data folder is required"))
	}
	if c.Execution.Workers < 0 || c.Execution.Workers > 1024 {
		errs = append(errs, fmt.Errorf("execution.workers: %d is outside 0..1024", c.Execution.Workers))
	}
	for _, hp := range c.Execution.FileAgentAllowlist {
		if _, _, err := net.SplitHostPort(hp); err != nil {
			errs = append(errs, fmt.Errorf("execution.file_agent_allowlist: %q is not host:port", hp))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("deploy: invalid configuration:\n%w", err)
	}
	return nil
}

// DataPath returns a path inside the data folder.
func (c Config) DataPath(elem ...string) string {
	return filepath.Join(append([]string{c.Data.Dir}, elem...)...)
}

// InternalServiceName returns the service name (attestation.Service*) of
// an [internal_endpoints] key, or "" for an unknown key.
func InternalServiceName(key string) string {
	switch key {
	case "authentication", "management", "storage", "access_control", "scheduler":
		return "teaclave_" + key + "_service"
	}
	return ""
}

func checkAddress(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		return fmt.Errorf("%q: listen on an IP address or localhost", addr)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%q: bad port", addr)
	}
	return nil
}
