package auth

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/teaclave-go/teaclave"
)

// Store layout. The authentication service keeps its users in a Store of
// its own, apart from the storage service, as Teaclave does; the caller
// seals it (storage/sealfs in an enclave). Everything the service stores is
// under "auth/".
var (
	userPrefix    = []byte("auth/user/")
	userPrefixEnd = []byte("auth/user0") // '0' follows '/'
	keyJWTSecret  = []byte("auth/jwt-secret")
	keyGeneration = []byte("auth/generation")
	keyBootstrap  = []byte("auth/bootstrapped")
)

func userKey(id string) []byte { return append(append([]byte{}, userPrefix...), id...) }

// userRecord is a stored user.
type userRecord struct {
	ID string `json:"id"`
	// Role is the claims form (teaclave.Role.String()).
	Role     string       `json:"role"`
	Password passwordHash `json:"password"`
	// Generation is the value of the service-wide generation counter when
	// the user was created or last had its tokens revoked (password
	// change or reset, role change). A token is valid only with the
	// generation it was issued under. The counter never goes back, so a
	// user deleted and registered again never matches an old token.
	Generation uint64 `json:"generation"`
}

func (r *userRecord) role() teaclave.Role { return teaclave.ParseRole(r.Role) }

func decodeUser(b []byte) (*userRecord, error) {
	var r userRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode user record: %w", err)
	}
	if r.ID == "" || !r.role().Valid() || r.Generation == 0 {
		return nil, errors.New("decode user record: incomplete record")
	}
	return &r, nil
}

// errInternal is what callers see when the store fails: the cause stays in
// process.
func errInternal(cause error) error {
	return teaclave.Wrap(teaclave.KindInternal, "service internal error", cause)
}

// getUser reads a user. It returns nil and version 0 when there is none.
func (s *Service) getUser(ctx context.Context, id string) (*userRecord, uint64, error) {
	b, v, err := s.store.Get(ctx, userKey(id))
	if teaclave.KindOf(err) == teaclave.KindNotFound {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, errInternal(fmt.Errorf("read user: %w", err))
	}
	r, err := decodeUser(b)
	if err != nil {
		return nil, 0, errInternal(err)
	}
	if r.ID != id {
		return nil, 0, errInternal(errors.New("user record stored under another id"))
	}
	return r, v, nil
}

// change describes one user write computed from the user's current record.
type change struct {
	// next is the new record, or nil to delete the user.
	next *userRecord
	// revoke gives next a fresh generation, invalidating its tokens.
	revoke bool
	// extraConds and extraOps join the commit (the bootstrap marker).
	extraConds []teaclave.Condition
	extraOps   []teaclave.Op
}

// maxCommitAttempts bounds the retries of a user write that races with
// other writers.
const maxCommitAttempts = 16

// updateUser reads user id, lets plan decide the write from the current
// record (nil when absent), and commits it atomically on the condition that
// neither the record nor the generation counter changed meanwhile,
// retrying on a race. plan runs again on every attempt, so its checks
// (existence, authorisation against the current role) always hold for what
// is written. An error from plan is returned as is and nothing is written.
func (s *Service) updateUser(ctx context.Context, id string, plan func(cur *userRecord) (change, error)) error {
	key := userKey(id)
	for range maxCommitAttempts {
		cur, ver, err := s.getUser(ctx, id)
		if err != nil {
			return err
		}
		ch, err := plan(cur)
		if err != nil {
			return err
		}
		conds := append([]teaclave.Condition{}, ch.extraConds...)
		if cur == nil {
			conds = append(conds, teaclave.Absent(key))
		} else {
			conds = append(conds, teaclave.AtVersion(key, ver))
		}
		ops := append([]teaclave.Op{}, ch.extraOps...)
		if ch.next != nil {
			next := *ch.next
			if ch.revoke {
				gen, genVer, err := s.readGeneration(ctx)
				if err != nil {
					return err
				}
				if genVer == 0 {
					conds = append(conds, teaclave.Absent(keyGeneration))
				} else {
					conds = append(conds, teaclave.AtVersion(keyGeneration, genVer))
				}
				next.Generation = gen + 1
				ops = append(ops, teaclave.PutOp(keyGeneration, binary.BigEndian.AppendUint64(nil, next.Generation)))
			}
			if next.Generation == 0 {
				return errInternal(errors.New("user write without a generation"))
			}
			b, err := json.Marshal(&next)
			if err != nil {
				return errInternal(err)
			}
			ops = append(ops, teaclave.PutOp(key, b))
		} else {
			ops = append(ops, teaclave.DeleteOp(key))
		}
		_, err = s.store.Commit(ctx, conds, ops)
		if err == nil {
			return nil
		}
		if teaclave.KindOf(err) != teaclave.KindFailedPrecondition {
			return errInternal(fmt.Errorf("commit user: %w", err))
		}
		// A concurrent writer won; read again and re-decide.
	}
	return teaclave.Errorf(teaclave.KindAborted, "too many concurrent changes to user %q; try again", id)
}

// readGeneration returns the generation counter and its version (0 when
// it was never written).
func (s *Service) readGeneration(ctx context.Context) (uint64, uint64, error) {
	b, v, err := s.store.Get(ctx, keyGeneration)
	if teaclave.KindOf(err) == teaclave.KindNotFound {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, errInternal(fmt.Errorf("read generation: %w", err))
	}
	if len(b) != 8 {
		return 0, 0, errInternal(errors.New("corrupt generation counter"))
	}
	return binary.BigEndian.Uint64(b), v, nil
}

// forEachUser calls fn for every stored user in id order, reading the
// store a page at a time.
func (s *Service) forEachUser(ctx context.Context, fn func(*userRecord) error) error {
	start := userPrefix
	for {
		kvs, err := s.store.Range(ctx, start, userPrefixEnd, 0, false)
		if err != nil {
			return errInternal(fmt.Errorf("list users: %w", err))
		}
		if len(kvs) == 0 {
			return nil
		}
		for _, kv := range kvs {
			r, err := decodeUser(kv.Value)
			if err != nil {
				return errInternal(err)
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		last := kvs[len(kvs)-1].Key
		start = append(append([]byte{}, last...), 0)
	}
}

// anyUser reports whether the user database holds a user.
func (s *Service) anyUser(ctx context.Context) (bool, error) {
	kvs, err := s.store.Range(ctx, userPrefix, userPrefixEnd, 1, false)
	if err != nil {
		return false, errInternal(fmt.Errorf("list users: %w", err))
	}
	return len(kvs) > 0, nil
}

// Input validation. Messages keep Teaclave's text ("invalid user id",
// "invalid role") and say what is wrong; they never echo a password.

func validateID(what, id string) error {
	if id == "" {
		return teaclave.Errorf(teaclave.KindInvalidArgument, "invalid %s: empty", what)
	}
	if len(id) > MaxIDLen {
		return teaclave.Errorf(teaclave.KindInvalidArgument, "invalid %s: longer than %d bytes", what, MaxIDLen)
	}
	if !printable(id) {
		return teaclave.Errorf(teaclave.KindInvalidArgument,
			"invalid %s: only printable ASCII without spaces is allowed", what)
	}
	return nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func validatePassword(pw string) error {
	if pw == "" {
		return teaclave.Errorf(teaclave.KindInvalidArgument, "invalid password: empty")
	}
	if len(pw) > MaxPasswordLen {
		return teaclave.Errorf(teaclave.KindInvalidArgument, "invalid password: longer than %d bytes", MaxPasswordLen)
	}
	return nil
}

// RoleFromRequest builds a role from the registration form, a role name and an
// attribute (UserRegisterRequest.role and .attribute), and validates it:
// the name must be PlatformAdmin, FunctionOwner, DataOwnerManager or
// DataOwner, and the attribute of the last two follows the id rules but
// may be empty. The attribute of the first two is ignored, as in Teaclave.
// Errors are InvalidArgument "invalid role: ...".
func RoleFromRequest(name, attribute string) (teaclave.Role, error) {
	r := teaclave.NewRole(name, attribute)
	if !r.Valid() {
		return teaclave.Role{}, teaclave.Errorf(teaclave.KindInvalidArgument,
			"invalid role: want PlatformAdmin, FunctionOwner, DataOwnerManager or DataOwner")
	}
	if err := validateRole(r); err != nil {
		return teaclave.Role{}, err
	}
	return r, nil
}

func validateRole(r teaclave.Role) error {
	if !r.Valid() {
		return teaclave.Errorf(teaclave.KindInvalidArgument, "invalid role")
	}
	if len(r.Attribute) > MaxAttributeLen {
		return teaclave.Errorf(teaclave.KindInvalidArgument, "invalid role: attribute longer than %d bytes", MaxAttributeLen)
	}
	if !printable(r.Attribute) {
		return teaclave.Errorf(teaclave.KindInvalidArgument,
			"invalid role: attribute has characters other than printable ASCII without spaces")
	}
	return nil
}
