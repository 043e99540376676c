package auth

import (
	"context"

	"github.com/teaclave-go/teaclave"
)

// The user-management rules (protocol §5.5, with §20 items 16 and 17
// fixed). Only PlatformAdmin and DataOwnerManager manage users:
//
//   - PlatformAdmin may register, update, reset, delete and list anyone.
//   - DataOwnerManager(a) may give only the role DataOwner(a), and may
//     update, reset or delete only users whose current role is
//     DataOwner(a) (Teaclave checked only the new role, so a manager could
//     take over any account, admins included: item 16); it lists the
//     DataOwner(a) users.
//   - FunctionOwner, DataOwner: none of it. (Teaclave let a FunctionOwner
//     register DataOwnerManagers of any attribute, who could then take
//     over that organisation's users: item 17.)

// managesUsers reports whether a role may manage users at all.
func managesUsers(caller teaclave.Role) bool {
	return caller.Kind == teaclave.RolePlatformAdmin || caller.Kind == teaclave.RoleDataOwnerManager
}

// mayAssign reports whether caller may give a user the role r.
func mayAssign(caller, r teaclave.Role) bool {
	switch caller.Kind {
	case teaclave.RolePlatformAdmin:
		return true
	case teaclave.RoleDataOwnerManager:
		return r.Kind == teaclave.RoleDataOwner && r.Attribute == caller.Attribute
	}
	return false
}

// mayManage reports whether caller may update, reset or delete a user
// whose current role is target.
func mayManage(caller, target teaclave.Role) bool {
	switch caller.Kind {
	case teaclave.RolePlatformAdmin:
		return true
	case teaclave.RoleDataOwnerManager:
		return target.Kind == teaclave.RoleDataOwner && target.Attribute == caller.Attribute
	}
	return false
}

func errPermissionDenied() error {
	return teaclave.Errorf(teaclave.KindPermissionDenied, "permission denied")
}

// errNoTarget is the answer when the user to manage does not exist: an
// administrator may know (NotFound), anyone else gets the same answer as
// for a user they may not manage, so that nobody learns which ids exist
// outside what they manage.
func errNoTarget(caller teaclave.Role) error {
	if caller.Kind == teaclave.RolePlatformAdmin {
		return teaclave.Errorf(teaclave.KindNotFound, "invalid user id: no such user")
	}
	return errPermissionDenied()
}

// developmentAdmin and developmentPassword are the development builds'
// seeded administrator (Teaclave's examples log in with them).
const (
	developmentAdmin    = "admin"
	developmentPassword = "teaclave"
)

// checkNotDevelopmentPassword refuses, in production builds, to give user
// admin the development password, so that a production build never gets
// into the state in which it refuses to start.
func checkNotDevelopmentPassword(id, pw string) error {
	if productionBuild && id == developmentAdmin && pw == developmentPassword {
		return teaclave.Errorf(teaclave.KindInvalidArgument, "invalid password: the development password is not allowed for admin")
	}
	return nil
}

// callerFrom returns the authenticated caller of an API call.
func callerFrom(ctx context.Context) (teaclave.Caller, error) {
	c, ok := teaclave.CallerFrom(ctx)
	if !ok || c.ID == "" || !c.Role.Valid() {
		return teaclave.Caller{}, errAuthFailed()
	}
	return c, nil
}

// begin checks that the service runs and returns the caller.
func (s *Service) begin(ctx context.Context) (teaclave.Caller, error) {
	if err := s.ready(); err != nil {
		return teaclave.Caller{}, err
	}
	return callerFrom(ctx)
}

// UserRegister creates user id with password and role on behalf of the
// authenticated caller in ctx (teaclave.CallerFrom). Checks, in order:
// the caller; id, role and password well formed (InvalidArgument); the
// caller may give that role (PermissionDenied "permission denied"); the id
// is free (AlreadyExists "user id exist"). Checking permission before
// existence means only those who may create a user learn whether its id
// is taken.
func (s *Service) UserRegister(ctx context.Context, id, password string, role teaclave.Role) error {
	caller, err := s.begin(ctx)
	if err != nil {
		return err
	}
	if err := validateID("user id", id); err != nil {
		return err
	}
	if err := validateRole(role); err != nil {
		return err
	}
	if err := validatePassword(password); err != nil {
		return err
	}
	if err := checkNotDevelopmentPassword(id, password); err != nil {
		return err
	}
	if !mayAssign(caller.Role, role) {
		return errPermissionDenied()
	}
	ph, err := s.hasher.hash(ctx, password)
	if err != nil {
		return err
	}
	err = s.updateUser(ctx, id, func(cur *userRecord) (change, error) {
		if cur != nil {
			return change{}, teaclave.Errorf(teaclave.KindAlreadyExists, "user id exist")
		}
		return change{next: &userRecord{ID: id, Role: role.String(), Password: ph}, revoke: true}, nil
	})
	if err == nil {
		s.log.InfoContext(ctx, "user registered", "by", caller.ID, "id", id, "role", role.String())
	}
	return err
}

// UserUpdate replaces the password and role of user id on behalf of the
// caller in ctx, and revokes the user's tokens. The caller must be allowed
// both to give the new role and to manage the user's current role (see the
// rules above); a missing user is NotFound for PlatformAdmin and
// PermissionDenied for anyone else.
func (s *Service) UserUpdate(ctx context.Context, id, password string, role teaclave.Role) error {
	caller, err := s.begin(ctx)
	if err != nil {
		return err
	}
	if err := validateID("user id", id); err != nil {
		return err
	}
	if err := validateRole(role); err != nil {
		return err
	}
	if err := validatePassword(password); err != nil {
		return err
	}
	if err := checkNotDevelopmentPassword(id, password); err != nil {
		return err
	}
	if !managesUsers(caller.Role) || !mayAssign(caller.Role, role) {
		return errPermissionDenied()
	}
	check := func(cur *userRecord) error {
		if cur == nil {
			return errNoTarget(caller.Role)
		}
		if !mayManage(caller.Role, cur.role()) {
			return errPermissionDenied()
		}
		return nil
	}
	// Fail before the costly hash when the answer is already no.
	if err := s.precheck(ctx, id, check); err != nil {
		return err
	}
	ph, err := s.hasher.hash(ctx, password)
	if err != nil {
		return err
	}
	err = s.updateUser(ctx, id, func(cur *userRecord) (change, error) {
		if err := check(cur); err != nil {
			return change{}, err
		}
		return change{next: &userRecord{ID: id, Role: role.String(), Password: ph}, revoke: true}, nil
	})
	if err == nil {
		s.log.InfoContext(ctx, "user updated", "by", caller.ID, "id", id, "role", role.String())
	}
	return err
}

func (s *Service) precheck(ctx context.Context, id string, check func(*userRecord) error) error {
	cur, _, err := s.getUser(ctx, id)
	if err != nil {
		return err
	}
	return check(cur)
}

// UserLogin checks id and password and returns a token valid for
// Config.TokenLifetime. Malformed input is InvalidArgument; a throttled or
// locked id is ResourceExhausted, before the password is looked at; every
// other failure is Unauthenticated "authentication failed", after the same
// work whether or not the user exists.
func (s *Service) UserLogin(ctx context.Context, id, password string) (string, error) {
	if err := s.ready(); err != nil {
		return "", err
	}
	if err := validateID("user id", id); err != nil {
		return "", err
	}
	if err := validatePassword(password); err != nil {
		return "", err
	}
	if err := s.throttle.begin(id, s.clock.Now()); err != nil {
		s.log.WarnContext(ctx, "login throttled", "id", id)
		return "", err
	}
	outcome := loginErrored
	defer func() { s.throttle.end(id, s.clock.Now(), outcome) }()
	rec, _, err := s.getUser(ctx, id)
	if err != nil {
		return "", err
	}
	ph := s.hasher.dummy
	if rec != nil {
		ph = rec.Password
	}
	ok, err := s.hasher.verify(ctx, ph, password)
	if err != nil {
		return "", err
	}
	if !ok || rec == nil {
		outcome = loginFailed
		s.log.InfoContext(ctx, "login failed", "id", id)
		return "", errAuthFailed()
	}
	tok, err := s.issueToken(rec, s.clock.Now())
	if err != nil {
		return "", err
	}
	outcome = loginSucceeded
	return tok, nil
}

// UserChangePassword sets the caller's own password and revokes the
// caller's tokens, the one used for this call included: the user logs in
// again with the new password.
func (s *Service) UserChangePassword(ctx context.Context, password string) error {
	caller, err := s.begin(ctx)
	if err != nil {
		return err
	}
	if err := validatePassword(password); err != nil {
		return err
	}
	if err := checkNotDevelopmentPassword(caller.ID, password); err != nil {
		return err
	}
	ph, err := s.hasher.hash(ctx, password)
	if err != nil {
		return err
	}
	err = s.updateUser(ctx, caller.ID, func(cur *userRecord) (change, error) {
		if cur == nil {
			return change{}, errAuthFailed() // deleted since its token was checked
		}
		next := *cur
		next.Password = ph
		return change{next: &next, revoke: true}, nil
	})
	if err == nil {
		s.log.InfoContext(ctx, "password changed", "id", caller.ID)
	}
	return err
}

// ResetUserPassword gives user id a new random password (32 lowercase hex
// digits, as Teaclave's), revokes the user's tokens and returns the
// password. Permission is as for UserUpdate of the user's current role.
func (s *Service) ResetUserPassword(ctx context.Context, id string) (string, error) {
	caller, err := s.begin(ctx)
	if err != nil {
		return "", err
	}
	if err := validateID("user id", id); err != nil {
		return "", err
	}
	if !managesUsers(caller.Role) {
		return "", errPermissionDenied()
	}
	check := func(cur *userRecord) error {
		if cur == nil {
			return errNoTarget(caller.Role)
		}
		if !mayManage(caller.Role, cur.role()) {
			return errPermissionDenied()
		}
		return nil
	}
	if err := s.precheck(ctx, id, check); err != nil {
		return "", err
	}
	pw, err := randomPassword()
	if err != nil {
		return "", err
	}
	ph, err := s.hasher.hash(ctx, pw)
	if err != nil {
		return "", err
	}
	err = s.updateUser(ctx, id, func(cur *userRecord) (change, error) {
		if err := check(cur); err != nil {
			return change{}, err
		}
		next := *cur
		next.Password = ph
		return change{next: &next, revoke: true}, nil
	})
	if err != nil {
		return "", err
	}
	s.log.InfoContext(ctx, "password reset", "by", caller.ID, "id", id)
	return pw, nil
}

// DeleteUser deletes user id, which ends its tokens. Permission is as for
// UserUpdate of the user's current role.
func (s *Service) DeleteUser(ctx context.Context, id string) error {
	caller, err := s.begin(ctx)
	if err != nil {
		return err
	}
	if err := validateID("user id", id); err != nil {
		return err
	}
	if !managesUsers(caller.Role) {
		return errPermissionDenied()
	}
	err = s.updateUser(ctx, id, func(cur *userRecord) (change, error) {
		if cur == nil {
			return change{}, errNoTarget(caller.Role)
		}
		if !mayManage(caller.Role, cur.role()) {
			return change{}, errPermissionDenied()
		}
		return change{next: nil}, nil // no next record: delete
	})
	if err == nil {
		s.log.InfoContext(ctx, "user deleted", "by", caller.ID, "id", id)
	}
	return err
}

// ListUsers lists user ids in id order. A PlatformAdmin gets every user
// (id is ignored); a DataOwnerManager(a) must pass id == a and gets the
// users whose role is exactly DataOwner(a); anyone else is refused.
func (s *Service) ListUsers(ctx context.Context, id string) ([]string, error) {
	caller, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	if len(id) > MaxAttributeLen {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "invalid user id: longer than %d bytes", MaxAttributeLen)
	}
	var keep func(*userRecord) bool
	switch {
	case caller.Role.Kind == teaclave.RolePlatformAdmin:
		keep = func(*userRecord) bool { return true }
	case caller.Role.Kind == teaclave.RoleDataOwnerManager && id == caller.Role.Attribute:
		want := teaclave.Role{Kind: teaclave.RoleDataOwner, Attribute: id}.String()
		keep = func(r *userRecord) bool { return r.Role == want }
	default:
		return nil, errPermissionDenied()
	}
	ids := []string{}
	err = s.forEachUser(ctx, func(r *userRecord) error {
		if keep(r) {
			ids = append(ids, r.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// UsersExist implements Directory.
func (s *Service) UsersExist(ctx context.Context, ids []string) ([]bool, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	if len(ids) > MaxUsersExist {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "too many ids: %d, at most %d per call", len(ids), MaxUsersExist)
	}
	out := make([]bool, len(ids))
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		if validateID("user id", id) != nil {
			continue
		}
		exists, ok := seen[id]
		if !ok {
			rec, _, err := s.getUser(ctx, id)
			if err != nil {
				return nil, err
			}
			exists = rec != nil
			seen[id] = exists
		}
		out[i] = exists
	}
	return out, nil
}
