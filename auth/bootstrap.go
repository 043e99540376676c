package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/teaclave-go/teaclave"
)

// Bootstrap creates the first PlatformAdmin, id with password, without
// credentials. It succeeds once: only while the user database is empty and
// was never bootstrapped (a marker in the store records that it was, by
// Bootstrap or by the development admin seed), and fails with
// FailedPrecondition afterwards, even if every user is deleted later.
//
// It is how production builds, which never read an admin password from
// configuration, get their first user (the CLI's `teaclave admin init`
// calls it through the TeaclaveAuthenticationApiExt extension on the api
// endpoint). Whoever calls it first owns the platform, so an operator
// bootstraps right after deployment and treats a failed bootstrap of a
// fresh deployment as a compromise. The development password "teaclave" is
// refused in every build.
func (s *Service) Bootstrap(ctx context.Context, id, password string) error {
	if err := s.ready(); err != nil {
		return err
	}
	if err := validateID("user id", id); err != nil {
		return err
	}
	if err := validatePassword(password); err != nil {
		return err
	}
	if password == developmentPassword {
		return teaclave.Errorf(teaclave.KindInvalidArgument, "invalid password: the development password is not allowed")
	}
	if err := s.checkBootstrappable(ctx); err != nil {
		return err
	}
	created, err := s.createFirstAdmin(ctx, id, password, "bootstrap")
	if err != nil {
		return err
	}
	if !created {
		return errBootstrapped()
	}
	s.log.InfoContext(ctx, "bootstrapped the first PlatformAdmin", "id", id)
	return nil
}

func errBootstrapped() error {
	return teaclave.Errorf(teaclave.KindFailedPrecondition, "the user database is already bootstrapped")
}

// checkBootstrappable returns errBootstrapped unless the database is empty
// and unmarked.
func (s *Service) checkBootstrappable(ctx context.Context) error {
	_, _, err := s.store.Get(ctx, keyBootstrap)
	switch {
	case err == nil:
		return errBootstrapped()
	case teaclave.KindOf(err) != teaclave.KindNotFound:
		return errInternal(fmt.Errorf("read bootstrap marker: %w", err))
	}
	found, err := s.anyUser(ctx)
	if err != nil {
		return err
	}
	if found {
		return errBootstrapped()
	}
	return nil
}

// createFirstAdmin creates PlatformAdmin id and the bootstrap marker in
// one commit, if the database is still bootstrappable. It reports whether
// it did.
func (s *Service) createFirstAdmin(ctx context.Context, id, password, how string) (bool, error) {
	ph, err := s.hasher.hash(ctx, password)
	if err != nil {
		return false, err
	}
	errAlready := errors.New("already bootstrapped")
	err = s.updateUser(ctx, id, func(cur *userRecord) (change, error) {
		// Re-checked on every attempt: a concurrent bootstrap that won
		// makes the marker condition fail and this attempt re-plan.
		if cur != nil {
			return change{}, errAlready
		}
		if err := s.checkBootstrappable(ctx); err != nil {
			if teaclave.KindOf(err) == teaclave.KindFailedPrecondition {
				return change{}, errAlready
			}
			return change{}, err
		}
		role := teaclave.Role{Kind: teaclave.RolePlatformAdmin}
		return change{
			next:       &userRecord{ID: id, Role: role.String(), Password: ph},
			revoke:     true,
			extraConds: []teaclave.Condition{teaclave.Absent(keyBootstrap)},
			extraOps:   []teaclave.Op{teaclave.PutOp(keyBootstrap, []byte(how))},
		}, nil
	})
	if errors.Is(err, errAlready) {
		return false, nil
	}
	return err == nil, err
}

// seedDevelopmentAdmin creates admin/teaclave (PlatformAdmin) in an empty,
// never bootstrapped user database, as Teaclave's examples expect. Only
// Start calls it, and only with Config.DevelopmentAdmin, which production
// builds refuse.
func (s *Service) seedDevelopmentAdmin(ctx context.Context) error {
	if productionBuild {
		return errors.New("auth: no development admin in production builds")
	}
	if err := s.checkBootstrappable(ctx); err != nil {
		if teaclave.KindOf(err) == teaclave.KindFailedPrecondition {
			return nil
		}
		return fmt.Errorf("auth: seed development admin: %w", err)
	}
	created, err := s.createFirstAdmin(ctx, developmentAdmin, developmentPassword, "development")
	if err != nil {
		return fmt.Errorf("auth: seed development admin: %w", err)
	}
	if created {
		s.log.WarnContext(ctx, "seeded the development admin; development builds only")
	}
	return nil
}

// refuseDevelopmentPassword fails if user admin exists with the
// development password. Production builds run it at Start. Their own API
// never sets that password for admin, so this catches a database that came
// from elsewhere.
func (s *Service) refuseDevelopmentPassword(ctx context.Context) error {
	rec, _, err := s.getUser(ctx, developmentAdmin)
	if err != nil {
		return fmt.Errorf("auth: check admin password: %w", err)
	}
	if rec == nil {
		return nil
	}
	ok, err := s.hasher.verify(ctx, rec.Password, developmentPassword)
	if err != nil {
		return fmt.Errorf("auth: check admin password: %w", err)
	}
	if ok {
		return errors.New("auth: user admin has the development password; a production build refuses to start")
	}
	return nil
}
