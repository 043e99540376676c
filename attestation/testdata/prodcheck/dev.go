//go:build !teaclave_production

package main

import "github.com/teaclave-go/teaclave/attestation/sim"

func development() bool { return sim.NewSealer("", nil) != nil }
