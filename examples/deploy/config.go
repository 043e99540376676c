package deploy

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/teaclave-go/teaclave/execution/wasm"
	"github.com/teaclave-go/teaclave/rpc"
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
		// Workers is how many tasks an execution node runs at once: the
		// all-in-one platform's in-process node, and every node of
		// Nodes that does not set its own.
		Workers int `toml:"workers"`
		// FileAgentAllowlist lists host:port pairs the file agent may
		// reach although they are loopback or private addresses.
		FileAgentAllowlist []string `toml:"file_agent_allowlist"`
		// WasmEngine is how wazero runs WebAssembly: "compiler" or
		// "interpreter". Empty means the build's default: the compiler,
		// or the interpreter in teaclave_production builds, which run in
		// SGX enclaves without an executable heap.
		WasmEngine string `toml:"wasm_engine"`
		// Nodes are the execution nodes of a multi-process deployment,
		// one process each (examples/execution -node NAME). Empty means
		// any name is accepted and every node takes Workers.
		Nodes []ExecutionNode `toml:"nodes"`
	} `toml:"execution"`
	Mount struct {
		// FusionBaseDir holds fusion files, the outputs the platform
		// keeps sealed for later tasks. Every execution node must see
		// the same folder (a shared mount when nodes run on several
		// machines). Empty means the folder "fusion" in the data folder.
		FusionBaseDir string `toml:"fusion_base_dir"`
	} `toml:"mount"`
}

// ExecutionNode is one execution node of a multi-process deployment
// ([[execution.nodes]]).
type ExecutionNode struct {
	// Name identifies the node in the configuration and in logs.
	Name string `toml:"name"`
	// Workers is how many tasks the node runs at once; zero means
	// execution.workers.
	Workers int `toml:"workers"`
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
		if ep.ListenAddress != "" {
			check("internal_endpoints."+name+".listen_address", ep.ListenAddress)
		}
		if ep.AdvertisedAddress != "" {
			if _, err := dialAddress(ep.AdvertisedAddress); err != nil {
				errs = append(errs, fmt.Errorf("internal_endpoints.%s.advertised_address: %w", name, err))
			}
		}
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
	switch c.Execution.WasmEngine {
	case "", "compiler", "interpreter":
	default:
		errs = append(errs, fmt.Errorf("execution.wasm_engine: %q: want compiler or interpreter", c.Execution.WasmEngine))
	}
	names := map[string]bool{}
	for i, n := range c.Execution.Nodes {
		switch {
		case !validNodeName(n.Name):
			errs = append(errs, fmt.Errorf("execution.nodes[%d].name: %q: want 1 to 64 letters, digits, '-', '_' or '.'", i, n.Name))
		case names[n.Name]:
			errs = append(errs, fmt.Errorf("execution.nodes[%d].name: %q appears twice", i, n.Name))
		}
		names[n.Name] = true
		if n.Workers < 0 || n.Workers > 1024 {
			errs = append(errs, fmt.Errorf("execution.nodes[%d].workers: %d is outside 0..1024", i, n.Workers))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("deploy: invalid configuration:\n%w", err)
	}
	return nil
}

// FusionDir returns the folder of fusion files: mount.fusion_base_dir, or
// "fusion" in the data folder.
func (c Config) FusionDir() string {
	if c.Mount.FusionBaseDir != "" {
		return c.Mount.FusionBaseDir
	}
	return c.DataPath("fusion")
}

// Node returns the settings of the execution node called name, with its
// workers defaulting to execution.workers. Without [[execution.nodes]]
// every valid name is accepted; with them the name must be listed, so
// that a misspelt node name is an error, not a stray node.
func (c Config) Node(name string) (ExecutionNode, error) {
	if !validNodeName(name) {
		return ExecutionNode{}, fmt.Errorf("deploy: execution node name %q: want 1 to 64 letters, digits, '-', '_' or '.'", name)
	}
	n := ExecutionNode{Name: name}
	if len(c.Execution.Nodes) > 0 {
		i := slices.IndexFunc(c.Execution.Nodes, func(n ExecutionNode) bool { return n.Name == name })
		if i < 0 {
			listed := make([]string, len(c.Execution.Nodes))
			for j, n := range c.Execution.Nodes {
				listed[j] = n.Name
			}
			return ExecutionNode{}, fmt.Errorf("deploy: execution node %q is not in [[execution.nodes]] (%s)", name, strings.Join(listed, ", "))
		}
		n = c.Execution.Nodes[i]
	}
	if n.Workers == 0 {
		n.Workers = c.Execution.Workers
	}
	return n, nil
}

// InternalEndpoint returns the internal endpoint of the service with the
// short name key (authentication, management, storage, access_control,
// scheduler): the configured one, with an empty listen address defaulting
// to Teaclave's port on 127.0.0.1 and an empty advertised address to the
// listen address.
func (c Config) InternalEndpoint(key string) (Endpoint, error) {
	port := defaultInternalPort(key)
	if port == 0 {
		return Endpoint{}, fmt.Errorf("deploy: no internal endpoint for %q", key)
	}
	ep := c.InternalEndpoints[key]
	if ep.ListenAddress == "" {
		ep.ListenAddress = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	if ep.AdvertisedAddress == "" {
		ep.AdvertisedAddress = ep.ListenAddress
	}
	return ep, nil
}

// Endpoints returns where the services' internal endpoints are reached
// (their advertised addresses, without Teaclave's https:// scheme), keyed
// by service name, for rpc.Dialer.
func (c Config) Endpoints() (rpc.Endpoints, error) {
	eps := rpc.Endpoints{}
	for _, key := range InternalKeys() {
		ep, err := c.InternalEndpoint(key)
		if err != nil {
			return nil, err
		}
		addr, err := dialAddress(ep.AdvertisedAddress)
		if err != nil {
			return nil, fmt.Errorf("deploy: internal_endpoints.%s.advertised_address: %w", key, err)
		}
		eps[InternalServiceName(key)] = addr
	}
	return eps, nil
}

// InternalKeys returns the [internal_endpoints] keys, in Teaclave's port
// order.
func InternalKeys() []string {
	return []string{"authentication", "management", "storage", "access_control", "scheduler"}
}

// defaultInternalPort returns Teaclave's port of an internal endpoint, or
// 0 for an unknown key.
func defaultInternalPort(key string) int {
	switch key {
	case "authentication":
		return 17776
	case "management":
		return 17777
	case "storage":
		return 17778
	case "access_control":
		return 17779
	case "scheduler":
		return 17780
	}
	return 0
}

// dialAddress turns an advertised address, "host:port" or Teaclave's
// "https://host:port", into host:port.
func dialAddress(advertised string) (string, error) {
	addr := strings.TrimPrefix(advertised, "https://")
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || strings.Contains(addr, "/") {
		return "", fmt.Errorf("%q is not host:port or https://host:port", advertised)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return "", fmt.Errorf("%q: bad port", advertised)
	}
	return addr, nil
}

func validNodeName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
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

// wasmEngine is the WebAssembly engine cfg asks for, or the build's
// default.
func wasmEngine(cfg Config) wasm.Engine {
	if cfg.Execution.WasmEngine != "" {
		return wasm.Engine(cfg.Execution.WasmEngine)
	}
	return defaultWasmEngine
}
