//go:build !teaclave_production

package auth

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	storagextest "github.com/teaclave-go/teaclave/storage/xtest"
)

// TestRestartKeepsUsersAndSessions: a new Service on the same store keeps
// the users, the token key and the valid tokens; revoked tokens stay
// revoked.
func TestRestartKeepsUsersAndSessions(t *testing.T) {
	e := attackEnv(t)
	e.register("carol", "carol-pw", role("DataOwner", "org1"))
	alice := e.login("alice", "alice-pw")
	bob := e.login("bob", "bob-pw")
	carol := e.login("carol", "carol-pw")
	if err := e.s.UserChangePassword(e.as("bob", "bob-pw"), "bob-new"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteUser(e.admin(), "carol"); err != nil {
		t.Fatal(err)
	}
	usersBefore, err := e.s.ListUsers(e.admin(), "")
	if err != nil {
		t.Fatal(err)
	}
	secretBefore := bytes.Clone(e.s.secret)
	if err := e.s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The stopped service answers nothing.
	_, err = e.s.UserAuthenticate(context.Background(), "alice", alice)
	wantKind(t, err, teaclave.KindUnavailable, "after Stop")

	e.clock.Advance(time.Hour)
	e.s = e.restart(testConfig())
	if !bytes.Equal(e.s.secret, secretBefore) {
		t.Fatal("token key changed across the restart")
	}
	if _, err := e.s.UserAuthenticate(context.Background(), "alice", alice); err != nil {
		t.Fatalf("valid token after restart: %v", err)
	}
	_, err = e.s.UserAuthenticate(context.Background(), "bob", bob)
	wantAuthFailed(t, err, "revoked (password change) token after restart")
	_, err = e.s.UserAuthenticate(context.Background(), "carol", carol)
	wantAuthFailed(t, err, "deleted user's token after restart")
	usersAfter, err := e.s.ListUsers(e.admin(), "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(usersBefore, usersAfter) {
		t.Fatalf("users %v before, %v after", usersBefore, usersAfter)
	}
	e.login("bob", "bob-new")
	// Re-registering carol after the restart does not revive her token.
	e.register("carol", "carol-pw", role("DataOwner", "org1"))
	_, err = e.s.UserAuthenticate(context.Background(), "carol", carol)
	wantAuthFailed(t, err, "old token of a re-registered user")
}

// TestRestartDoesNotReseedAdmin: the development admin is seeded into an
// empty database only, so deleting it sticks.
func TestRestartDoesNotReseedAdmin(t *testing.T) {
	e := newEnv(t)
	e.register("root", "root-pw", role("PlatformAdmin", ""))
	if err := e.s.DeleteUser(e.as("root", "root-pw"), "admin"); err != nil {
		t.Fatal(err)
	}
	e.s = e.restart(testConfig())
	if ex, _ := e.s.UsersExist(context.Background(), []string{"admin"}); ex[0] {
		t.Fatal("admin seeded again")
	}
	// Even when every user is gone.
	if err := e.s.DeleteUser(e.as("root", "root-pw"), "root"); err != nil {
		t.Fatal(err)
	}
	e.s = e.restart(testConfig())
	if ex, _ := e.s.UsersExist(context.Background(), []string{"admin"}); ex[0] {
		t.Fatal("admin seeded into a database that was bootstrapped before")
	}
}

// TestConcurrentStartsAgreeOnKey: two services starting at once on one
// fresh store use one key.
func TestConcurrentStartsAgreeOnKey(t *testing.T) {
	for range 20 {
		store := storagextest.NewMemStore()
		var ss [4]*Service
		var wg sync.WaitGroup
		for i := range ss {
			s, err := New(testConfig(), Deps{Store: store})
			if err != nil {
				t.Fatal(err)
			}
			ss[i] = s
			wg.Go(func() {
				if err := s.Start(context.Background()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for _, s := range ss[1:] {
			if !bytes.Equal(s.secret, ss[0].secret) {
				t.Fatal("services on one store disagree on the token key")
			}
		}
		tok, err := ss[1].UserLogin(context.Background(), "admin", "teaclave")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ss[3].UserAuthenticate(context.Background(), "admin", tok); err != nil {
			t.Fatalf("token of one service refused by the other: %v", err)
		}
		ids, err := ss[0].UsersExist(context.Background(), []string{"admin"})
		if err != nil || !ids[0] {
			t.Fatal("admin not seeded")
		}
	}
}

// TestCorruptKeyRefusesStart: a stored key of the wrong size is an error,
// not a silently replaced key.
func TestCorruptKeyRefusesStart(t *testing.T) {
	store := storagextest.NewMemStore()
	if err := store.Put(context.Background(), keyJWTSecret, []byte("short")); err != nil {
		t.Fatal(err)
	}
	s, err := New(testConfig(), Deps{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err == nil {
		t.Fatal("Start accepted a corrupt key")
	}
	_, err = s.UserLogin(context.Background(), "admin", "teaclave")
	wantKind(t, err, teaclave.KindUnavailable, "not started")
}
