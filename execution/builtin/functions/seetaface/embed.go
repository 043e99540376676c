package seetaface

import (
	_ "embed"
	"sync"
)

// modelBytes is SeetaFace's frontal face detection model, the one rustface
// shipped and Teaclave's builtin-face-detection used (BSD 2-clause; see
// model/LICENSE and model/README.md).
//
//go:embed model/seeta_fd_frontal_v1.0.bin
var modelBytes []byte

// defaultModel parses modelBytes on first use. The embedded bytes never
// change and the parsed Model is immutable, so this package-level once is
// not mutable state: every caller gets the same read-only model.
var defaultModel = sync.OnceValues(func() (*Model, error) { return ParseModel(modelBytes) })

// DefaultModel returns the embedded SeetaFace frontal model, parsed on the
// first call (about 1.2 MB of parameters) and shared afterwards.
func DefaultModel() (*Model, error) { return defaultModel() }
