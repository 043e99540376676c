//go:build !teaclave_production

package auth

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/teaclave-go/teaclave"
	storagextest "github.com/teaclave-go/teaclave/storage/xtest"
)

// TestStoreFailures: a failing store is Internal "service internal
// error" (never Unauthenticated, never the cause's text) and leaves
// nothing half written.
func TestStoreFailures(t *testing.T) {
	store := storagextest.NewMemStore()
	e := newEnvWith(t, testConfig(), store)
	e.register("alice", "alice-pw", role("DataOwner", "org1"))
	tok := e.login("alice", "alice-pw")
	admin := e.admin()

	store.FailCommit(true)
	var err error
	unchanged(t, store, func() { err = e.s.UserRegister(admin, "bob", "pw", role("DataOwner", "org1")) })
	wantInternal(t, err)
	unchanged(t, store, func() { err = e.s.UserChangePassword(admin, "new") })
	wantInternal(t, err)
	unchanged(t, store, func() { err = e.s.DeleteUser(admin, "alice") })
	wantInternal(t, err)
	store.FailCommit(false)

	store.FailGet(true)
	_, err = e.s.UserAuthenticate(context.Background(), "alice", tok)
	wantInternal(t, err)
	_, err = e.s.UserLogin(context.Background(), "alice", "alice-pw")
	wantInternal(t, err)
	_, err = e.s.UsersExist(context.Background(), []string{"alice"})
	wantInternal(t, err)
	store.FailGet(false)
	// An internal error during login is not a failed attempt.
	for range 20 {
		store.FailGet(true)
		_, _ = e.s.UserLogin(context.Background(), "alice", "alice-pw")
		store.FailGet(false)
	}
	e.login("alice", "alice-pw")

	store.FailList(true)
	_, err = e.s.ListUsers(admin, "")
	wantInternal(t, err)
	store.FailList(false)

	// Start on a failing store fails.
	store.FailGet(true)
	s, _ := New(testConfig(), Deps{Store: store})
	if err := s.Start(context.Background()); err == nil {
		t.Fatal("Start on a failing store succeeded")
	}
	store.FailGet(false)
}

func wantInternal(t *testing.T, err error) {
	t.Helper()
	var te *teaclave.Error
	if !errors.As(err, &te) || te.Kind != teaclave.KindInternal || te.Msg != "service internal error" {
		t.Fatalf("got %v, want Internal \"service internal error\"", err)
	}
}

// TestCorruptRecord: a record that does not decode is an internal error,
// never a login.
func TestCorruptRecord(t *testing.T) {
	e := newEnv(t)
	if err := e.store.Put(context.Background(), userKey("mallory"), []byte(`{"id":"mallory","role":"PlatformAdmin"}`)); err != nil {
		t.Fatal(err)
	}
	_, err := e.s.UserLogin(context.Background(), "mallory", "x")
	wantInternal(t, err)
	rec := `{"id":"eve","role":"PlatformAdmin","generation":1,"password":{"alg":"argon2id","v":19,"t":1,"m":4194304,"p":1,"salt":"AAAAAAAAAAAAAAAAAAAAAA==","hash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}`
	if err := e.store.Put(context.Background(), userKey("eve"), []byte(rec)); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.UserLogin(context.Background(), "eve", "x")
	wantInternal(t, err) // 4 GiB of memory is refused, not allocated
}

// TestNoSecretsInLogsOrErrors runs every operation at debug level with
// right and wrong secrets and checks that no password, token or key
// appears in the log or in an error.
func TestNoSecretsInLogsOrErrors(t *testing.T) {
	e := newEnv(t)
	secrets := []string{"teaclave", "alice-secret-pw", "wrong-secret-guess", "new-secret-pw"}
	var errs []error
	note := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	admin := e.admin()
	note(e.s.UserRegister(admin, "alice", "alice-secret-pw", role("DataOwner", "org1")))
	tok := e.login("alice", "alice-secret-pw")
	secrets = append(secrets, tok, strings.Split(tok, ".")[2])
	_, err := e.s.UserLogin(context.Background(), "alice", "wrong-secret-guess")
	note(err)
	_, err = e.s.UserAuthenticate(context.Background(), "alice", tok+"x")
	note(err)
	_, err = e.s.UserAuthenticate(context.Background(), "bob", tok)
	note(err)
	note(e.s.UserChangePassword(e.as("alice", "alice-secret-pw"), "new-secret-pw"))
	_, err = e.s.UserAuthenticate(context.Background(), "alice", tok)
	note(err)
	pw, err := e.s.ResetUserPassword(admin, "alice")
	note(err)
	secrets = append(secrets, pw)
	note(e.s.UserUpdate(admin, "alice", "new-secret-pw", role("DataOwner", "org2")))
	note(e.s.Bootstrap(context.Background(), "root", "wrong-secret-guess"))
	for range 12 {
		_, err := e.s.UserLogin(context.Background(), "alice", "wrong-secret-guess")
		note(err)
	}
	note(e.s.DeleteUser(admin, "alice"))
	secrets = append(secrets, hex.EncodeToString(e.s.secret), base64.StdEncoding.EncodeToString(e.s.secret),
		base64.RawURLEncoding.EncodeToString(e.s.secret))
	logs := e.logs.String()
	if !strings.Contains(logs, "token refused") || !strings.Contains(logs, "login failed") {
		t.Fatalf("the debug log is missing expected lines:\n%s", logs)
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("log contains secret %q", s)
		}
		for _, err := range errs {
			if strings.Contains(fmt.Sprint(err), s) {
				t.Errorf("error %q contains secret %q", err, s)
			}
		}
	}
}

// TestConcurrentWrites: concurrent password changes, resets, updates and
// registrations all land, each with its own generation, and every token
// that should work works. Run under -race.
func TestConcurrentWrites(t *testing.T) {
	e := newEnv(t)
	e.register("alice", "alice-pw", role("DataOwner", "org1"))
	admin := e.admin()
	alice := e.as("alice", "alice-pw")
	var wg sync.WaitGroup
	var mu sync.Mutex
	aborted := 0
	do := func(f func() error) {
		wg.Go(func() {
			if err := f(); err != nil {
				if teaclave.KindOf(err) == teaclave.KindAborted {
					mu.Lock()
					aborted++
					mu.Unlock()
					return
				}
				t.Error(err)
			}
		})
	}
	for i := range 10 {
		id := fmt.Sprintf("user%d", i)
		do(func() error { return e.s.UserRegister(admin, id, "pw", role("DataOwner", "org1")) })
		do(func() error { return e.s.UserChangePassword(alice, fmt.Sprintf("pw%d", i)) })
		do(func() error { _, err := e.s.ResetUserPassword(admin, "alice"); return err })
	}
	wg.Wait()
	if aborted > 0 {
		t.Logf("%d writes aborted after retries", aborted)
	}
	gens := map[uint64]string{}
	err := e.s.forEachUser(context.Background(), func(r *userRecord) error {
		if other, dup := gens[r.Generation]; dup {
			return fmt.Errorf("users %s and %s share generation %d", other, r.ID, r.Generation)
		}
		gens[r.Generation] = r.ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(gens) != 12 {
		t.Fatalf("%d users, want 12", len(gens))
	}
}
