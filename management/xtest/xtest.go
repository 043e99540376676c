// Package xtest holds test helpers for the management service and its
// users: a fake user Directory with a failure switch, the records
// Teaclave's management service seeded in test mode (protocol §8.6) for
// reproducing Teaclave's functional tests, and a dump of a store's keys
// for before-and-after comparisons.
package xtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"

	"github.com/teaclave-go/teaclave"
)

// Directory is an in-memory user directory for tests. It is safe for
// concurrent use.
type Directory struct {
	mu    sync.Mutex
	users map[string]bool
	fail  atomic.Bool
	calls atomic.Int64
}

// NewDirectory returns a directory holding users.
func NewDirectory(users ...string) *Directory {
	d := &Directory{users: map[string]bool{}}
	d.Add(users...)
	return d
}

// Add adds users.
func (d *Directory) Add(users ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, u := range users {
		d.users[u] = true
	}
}

// Remove removes users.
func (d *Directory) Remove(users ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, u := range users {
		delete(d.users, u)
	}
}

// Fail makes every call fail with KindUnavailable while on is set.
func (d *Directory) Fail(on bool) { d.fail.Store(on) }

// Calls returns the number of UsersExist calls so far.
func (d *Directory) Calls() int64 { return d.calls.Load() }

// UsersExist reports, for each id, whether it was added. It refuses more
// than 1024 ids, as the authentication service does.
func (d *Directory) UsersExist(ctx context.Context, ids []string) ([]bool, error) {
	d.calls.Add(1)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if d.fail.Load() {
		return nil, teaclave.Errorf(teaclave.KindUnavailable, "xtest: directory fault")
	}
	if len(ids) > 1024 {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "xtest: too many ids")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]bool, len(ids))
	for i, id := range ids {
		out[i] = d.users[id]
	}
	return out, nil
}

// TeaclaveUsers are the user ids Teaclave's functional tests of frontend
// and management act as or name as owners.
var TeaclaveUsers = []string{
	"teaclave", "admin",
	"mock_user", "mock_user1", "mock_user2", "mock_user3", "mock_user_b", "mock_user_c",
	"mock_another_user", "mock_unauthorized_user", "non-participant",
	"frontend_user", "frontend_user1", "frontend_user2", "frontend_user3",
}

// The ids of the seeded fixtures (protocol §8.6).
var (
	FixtureOutput1   = fixtureID(teaclave.PrefixOutput, 1)
	FixtureOutput2   = fixtureID(teaclave.PrefixOutput, 2)
	FixtureInput2    = fixtureID(teaclave.PrefixInput, 2)
	FixtureFunction1 = fixtureID(teaclave.PrefixFunction, 1)
	FixtureFunction2 = fixtureID(teaclave.PrefixFunction, 2)
	FixtureFunction3 = fixtureID(teaclave.PrefixFunction, 3)
)

func fixtureID(prefix string, n byte) teaclave.ID {
	var u uuid.UUID
	u[15] = n
	return teaclave.IDFromUUID(prefix, u)
}

// fixturePayload is the payload of the seeded functions. They are python
// functions, so that Teaclave's tests' mesapy tasks pair with them.
var fixturePayload = []byte("mock-payload")

// SeedTeaclaveFixtures writes the records Teaclave's management service
// seeded in test mode (protocol §8.6), in one Commit, with every index and
// counter a registered function has: two written fusion outputs, an input
// made from the second, and three python functions ("mock-func-1" and
// "mock-func-2" public and owned by "teaclave", "mock-func-3" private,
// owned by "mock_user" and allowlisting mock_user and mock_user1).
func SeedTeaclaveFixtures(ctx context.Context, store teaclave.Store) error {
	zero := teaclave.FileAuthTag{}
	fusionKey := bytes.Repeat([]byte{0x42}, 16)
	out1 := teaclave.OutputFile{
		ID: FixtureOutput1, URL: teaclave.FusionURL(uuid.MustParse("00000000-0000-0000-0000-0000000000f1")), Cmac: &zero,
		Crypto: teaclave.FileCrypto{Schema: teaclave.SchemaTeaclaveFile128, Key: fusionKey},
		Owners: teaclave.UserSet([]string{"mock_user1", "frontend_user"}),
	}
	out2 := teaclave.OutputFile{
		ID: FixtureOutput2, URL: teaclave.FusionURL(uuid.MustParse("00000000-0000-0000-0000-0000000000f2")), Cmac: &zero,
		Crypto: teaclave.FileCrypto{Schema: teaclave.SchemaTeaclaveFile128, Key: fusionKey},
		Owners: teaclave.UserSet([]string{"mock_user2", "mock_user3"}),
	}
	in2 := teaclave.InputFile{ID: FixtureInput2, URL: out2.URL, Cmac: zero, Crypto: out2.Crypto, Owners: out2.Owners}
	overwritable := func(keys ...string) []teaclave.FunctionArgument {
		var out []teaclave.FunctionArgument
		for _, k := range keys {
			out = append(out, teaclave.FunctionArgument{Key: k, AllowOverwrite: true})
		}
		return out
	}
	slots := func(names ...string) []teaclave.FunctionSlot {
		var out []teaclave.FunctionSlot
		for _, n := range names {
			out = append(out, teaclave.FunctionSlot{Name: n, Description: "mock-desc"})
		}
		return out
	}
	fn := func(id teaclave.ID, name string, public bool, owner string, args []teaclave.FunctionArgument, in, out []teaclave.FunctionSlot, allow []string) teaclave.Function {
		return teaclave.Function{
			ID: id, Name: name, Description: "mock-desc", Public: public, ExecutorType: teaclave.ExecutorTypePython,
			PayloadSHA256: teaclave.DigestOf(fixturePayload), PayloadSize: len(fixturePayload),
			Arguments: args, Inputs: in, Outputs: out, Owner: owner, UserAllowlist: teaclave.UserSet(allow), Revision: 1,
		}
	}
	functions := []teaclave.Function{
		fn(FixtureFunction1, "mock-func-1", true, "teaclave", overwritable("arg1", "arg2"), slots("input", "input2"), slots("output", "output2"), nil),
		fn(FixtureFunction2, "mock-func-2", true, "teaclave", overwritable("arg1"), nil, slots("output"), nil),
		fn(FixtureFunction3, "mock-func-3", false, "mock_user", overwritable("arg1"), nil, nil, []string{"mock_user", "mock_user1"}),
	}
	var ops []teaclave.Op
	put := func(key []byte, v any) error {
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		ops = append(ops, teaclave.PutOp(key, data))
		return nil
	}
	for _, r := range []struct {
		key []byte
		v   any
	}{{out1.ID.Key(), &out1}, {out2.ID.Key(), &out2}, {in2.ID.Key(), &in2}} {
		if err := put(r.key, r.v); err != nil {
			return err
		}
	}
	for i := range functions {
		f := &functions[i]
		if err := put(teaclave.FunctionKey(f.ID), f); err != nil {
			return err
		}
		if err := put(teaclave.UsageKey(f.ID), teaclave.FunctionUsage{FunctionID: f.ID}); err != nil {
			return err
		}
		ops = append(ops,
			teaclave.PutOp(teaclave.PayloadKey(f.ID), fixturePayload),
			teaclave.PutOp(teaclave.FunctionIndexKey(f.ID), []byte{}),
			teaclave.PutOp(teaclave.UserIndexKey(f.Owner, teaclave.IndexRegistered, f.ID), []byte{}))
		for _, u := range f.UserAllowlist {
			ops = append(ops, teaclave.PutOp(teaclave.UserIndexKey(u, teaclave.IndexAllowed, f.ID), []byte{}))
		}
	}
	if _, err := store.Commit(ctx, nil, ops); err != nil {
		return fmt.Errorf("xtest: seed fixtures: %w", err)
	}
	return nil
}

// Dump returns every key of store (queues are not keys) with its value, by
// reading it in pages with Range.
func Dump(ctx context.Context, store teaclave.Store) (map[string][]byte, error) {
	out := map[string][]byte{}
	start := []byte{0}
	for {
		page, err := store.Range(ctx, start, nil, 1000, false)
		if err != nil {
			return nil, err
		}
		if len(page) == 0 {
			return out, nil
		}
		for _, kv := range page {
			out[string(kv.Key)] = kv.Value
		}
		start = append(slices.Clone(page[len(page)-1].Key), 0)
	}
}

// Diff describes how after differs from before: the keys added, removed
// and changed, each sorted.
func Diff(before, after map[string][]byte) (added, removed, changed []string) {
	for k, v := range after {
		old, ok := before[k]
		switch {
		case !ok:
			added = append(added, k)
		case !bytes.Equal(old, v):
			changed = append(changed, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			removed = append(removed, k)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	slices.Sort(changed)
	return added, removed, changed
}
