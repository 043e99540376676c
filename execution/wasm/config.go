package wasm

import (
	"errors"
	"fmt"
)

// Engine selects how wazero runs WebAssembly.
type Engine string

// Engines.
const (
	// EngineCompiler compiles modules to machine code ahead of time: fast,
	// but it maps the code it generates executable, which an SGX enclave's
	// heap is not (see the package documentation).
	EngineCompiler Engine = "compiler"
	// EngineInterpreter interprets modules: several times slower, but it
	// never maps executable memory. SGX builds must use it.
	EngineInterpreter Engine = "interpreter"
)

// pageSize is the WebAssembly page size.
const pageSize = 65536

// Config configures an Executor.
type Config struct {
	// Engine runs the modules. Empty means EngineCompiler; deployments in
	// SGX enclaves set EngineInterpreter.
	Engine Engine
	// MemoryLimitPages caps each module instance's linear memory, in
	// 64 KiB pages, whatever the module declares; a module whose declared
	// minimum or maximum is larger does not load. Zero means 2048 pages
	// (128 MiB): Teaclave gave each instance its declared memory plus a
	// 20 MiB heap inside a 768 MiB enclave heap.
	MemoryLimitPages uint32
	// CacheEntries bounds how many compiled modules are kept, by payload
	// SHA-256. Zero means 32.
	CacheEntries int
	// CacheBytes bounds the payload bytes of the kept compiled modules (a
	// proxy for their code size, which the compiler makes a few times
	// larger). Zero means 64 MiB.
	CacheBytes int64
	// MaxModuleSize is the largest payload compiled. Zero means 16 MiB.
	// Compiling takes memory and time in proportion (and cannot be
	// interrupted), so keep it near the largest payload expected.
	MaxModuleSize int
}

// Defaults returns c with empty fields set to their defaults.
func (c Config) Defaults() Config {
	if c.Engine == "" {
		c.Engine = EngineCompiler
	}
	if c.MemoryLimitPages == 0 {
		c.MemoryLimitPages = 2048
	}
	if c.CacheEntries == 0 {
		c.CacheEntries = 32
	}
	if c.CacheBytes == 0 {
		c.CacheBytes = 64 << 20
	}
	if c.MaxModuleSize == 0 {
		c.MaxModuleSize = 16 << 20
	}
	return c
}

// Validate checks c (after Defaults).
func (c Config) Validate() error {
	var errs []error
	if c.Engine != EngineCompiler && c.Engine != EngineInterpreter {
		errs = append(errs, fmt.Errorf("wasm: engine %q: want %q or %q", c.Engine, EngineCompiler, EngineInterpreter))
	}
	if c.MemoryLimitPages < 1 || c.MemoryLimitPages > 65536 {
		errs = append(errs, fmt.Errorf("wasm: memory limit of %d pages: want 1 to 65536", c.MemoryLimitPages))
	}
	if c.CacheEntries < 1 {
		errs = append(errs, errors.New("wasm: the module cache needs at least one entry"))
	}
	if c.CacheBytes < 1 {
		errs = append(errs, errors.New("wasm: the module cache needs a positive byte budget"))
	}
	if c.MaxModuleSize < 1 {
		errs = append(errs, errors.New("wasm: the largest module size must be positive"))
	}
	return errors.Join(errs...)
}
