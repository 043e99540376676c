//go:build !teaclave_production

package auth

import (
	"context"
	"testing"

	storagextest "github.com/teaclave-go/teaclave/storage/xtest"
)

// BenchmarkUserAuthenticate measures token validation in process: parse,
// HMAC-SHA512, claims checks and one store read (in-memory store).
func BenchmarkUserAuthenticate(b *testing.B) {
	e := newEnv(b)
	tok := e.login("admin", "teaclave")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.s.UserAuthenticate(ctx, "admin", tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUserAuthenticateOverGRPC adds a plain gRPC round trip on
// 127.0.0.1 (no TLS).
func BenchmarkUserAuthenticateOverGRPC(b *testing.B) {
	e := newEnv(b)
	g := serveGRPC(b, e.s)
	tok := e.login("admin", "teaclave")
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := g.client.UserAuthenticate(context.Background(), "admin", tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUserLogin measures a login with the default argon2id parameters
// (19 MiB, 2 passes): the hash dominates.
func BenchmarkUserLogin(b *testing.B) {
	e := newEnvWith(b, Defaults(), storagextest.NewMemStore())
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.s.UserLogin(ctx, "admin", developmentPassword); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPasswordHash isolates the argon2id hash with the defaults.
func BenchmarkPasswordHash(b *testing.B) {
	h, err := newHasher(DefaultPasswordParams(), 1)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := h.hash(context.Background(), "password"); err != nil {
			b.Fatal(err)
		}
	}
}
