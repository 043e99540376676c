//go:build !teaclave_production

package deploy

import "github.com/teaclave-go/teaclave/execution/wasm"

// defaultWasmEngine is the build's WebAssembly engine: development builds
// compile, outside an enclave.
const defaultWasmEngine = wasm.EngineCompiler
