//go:build teaclave_production

package main

import (
	"errors"
	"log/slog"
)

// devMode is not available in production builds.
func devMode(options, *slog.Logger) (*mode, error) {
	return nil, errors.New("-verifier insecure-dev: not in teaclave_production builds")
}
