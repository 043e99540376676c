//go:build teaclave_production

package deploy

import "github.com/teaclave-go/teaclave/execution/wasm"

// defaultWasmEngine is the build's WebAssembly engine: production builds
// run in SGX enclaves without an executable heap, so they interpret.
const defaultWasmEngine = wasm.EngineInterpreter
