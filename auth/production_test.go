//go:build teaclave_production

package auth

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave"
	storagextest "github.com/teaclave-go/teaclave/storage/xtest"
)

// Run with: go test -tags teaclave_production ./auth/

// floorConfig is the cheapest configuration production builds accept.
func floorConfig() Config {
	cfg := Defaults()
	cfg.Password = PasswordParams{Time: 5, MemoryKiB: 7 * 1024, Threads: 1}
	return cfg
}

func TestProductionDefaults(t *testing.T) {
	d := Defaults()
	if d.DevelopmentAdmin || !strings.HasPrefix(d.APIAddress, "0.0.0.0:") || !strings.HasPrefix(d.InternalAddress, "0.0.0.0:") {
		t.Fatalf("production defaults: %+v", d)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := floorConfig().Validate(); err != nil {
		t.Fatalf("floor: %v", err)
	}
	for name, f := range map[string]func(*Config){
		"development admin": func(c *Config) { c.DevelopmentAdmin = true },
		"weak hash":         func(c *Config) { c.Password = PasswordParams{Time: 1, MemoryKiB: 64, Threads: 1} },
		"below the floor":   func(c *Config) { c.Password = PasswordParams{Time: 4, MemoryKiB: 7 * 1024, Threads: 1} },
		"too little memory": func(c *Config) { c.Password = PasswordParams{Time: 16, MemoryKiB: 6 * 1024, Threads: 1} },
	} {
		c := Defaults()
		f(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestProductionBootstrap: a production build starts with no user at all
// (no admin/teaclave), takes its first PlatformAdmin from Bootstrap, and
// refuses the development password.
func TestProductionBootstrap(t *testing.T) {
	e := newEnvWith(t, floorConfig(), storagextest.NewMemStore())
	ctx := context.Background()
	if ex, _ := e.s.UsersExist(ctx, []string{"admin"}); ex[0] {
		t.Fatal("a production build seeded admin")
	}
	_, err := e.s.UserLogin(ctx, "admin", "teaclave")
	wantAuthFailed(t, err, "development login")
	wantKind(t, e.s.Bootstrap(ctx, "admin", "teaclave"), teaclave.KindInvalidArgument, "bootstrap with the development password")
	if err := e.s.Bootstrap(ctx, "admin", "a-real-password"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, e.s.Bootstrap(ctx, "root", "a-real-password"), teaclave.KindFailedPrecondition, "second bootstrap")
	admin := e.as("admin", "a-real-password")
	wantKind(t, e.s.UserChangePassword(admin, "teaclave"), teaclave.KindInvalidArgument, "admin changes to the development password")
	if err := e.s.UserRegister(admin, "root", "root-password", role("PlatformAdmin", "")); err != nil {
		t.Fatal(err)
	}
	root := e.as("root", "root-password")
	wantKind(t, e.s.UserUpdate(root, "admin", "teaclave", role("PlatformAdmin", "")), teaclave.KindInvalidArgument, "update admin to the development password")
	if err := e.s.DeleteUser(root, "admin"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, e.s.UserRegister(root, "admin", "teaclave", role("PlatformAdmin", "")), teaclave.KindInvalidArgument, "register admin with the development password")
	// A restart keeps the bootstrapped state and starts.
	e.s = e.restart(floorConfig())
}

// TestProductionRefusesToStart: a database in which admin has the
// development password (which a production build's API never writes) stops
// Start.
func TestProductionRefusesToStart(t *testing.T) {
	store := storagextest.NewMemStore()
	h, err := newHasher(floorConfig().Password, 1)
	if err != nil {
		t.Fatal(err)
	}
	ph, err := h.hash(context.Background(), "teaclave")
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := json.Marshal(&userRecord{ID: "admin", Role: "PlatformAdmin", Password: ph, Generation: 1})
	if err := store.Put(context.Background(), userKey("admin"), rec); err != nil {
		t.Fatal(err)
	}
	s, err := New(floorConfig(), Deps{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "development password") {
		t.Fatalf("Start: %v, want a refusal", err)
	}
	// With another password it starts.
	ph, _ = h.hash(context.Background(), "something-else")
	rec, _ = json.Marshal(&userRecord{ID: "admin", Role: "PlatformAdmin", Password: ph, Generation: 1})
	if err := store.Put(context.Background(), userKey("admin"), rec); err != nil {
		t.Fatal(err)
	}
	s, _ = New(floorConfig(), Deps{Store: store})
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
}
