package sdk

import (
	"context"

	"github.com/teaclave-go/teaclave"
)

// RegisterUser creates user id with password and role. Who may give which
// role follows the platform's rules (a PlatformAdmin any, a
// DataOwnerManager(a) only DataOwner(a)).
func (c *Client) RegisterUser(ctx context.Context, id, password string, role teaclave.Role) error {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return err
	}
	return c.Auth.UserRegister(ctx, id, password, role.Name(), role.Attribute)
}

// UpdateUser replaces the password and role of user id.
func (c *Client) UpdateUser(ctx context.Context, id, password string, role teaclave.Role) error {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return err
	}
	return c.Auth.UserUpdate(ctx, id, password, role.Name(), role.Attribute)
}

// ChangePassword sets the logged-in user's password. The current token
// stays valid until it expires.
func (c *Client) ChangePassword(ctx context.Context, password string) error {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return err
	}
	return c.Auth.UserChangePassword(ctx, password)
}

// ResetUserPassword gives user id a new random password and returns it.
func (c *Client) ResetUserPassword(ctx context.Context, id string) (string, error) {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return "", err
	}
	return c.Auth.ResetUserPassword(ctx, id)
}

// DeleteUser deletes user id.
func (c *Client) DeleteUser(ctx context.Context, id string) error {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return err
	}
	return c.Auth.DeleteUser(ctx, id)
}

// ListUsers returns the users the logged-in user manages: all of them for
// a PlatformAdmin, the DataOwner(attribute) users for a
// DataOwnerManager(attribute). attribute must not be empty (a PlatformAdmin
// may pass anything).
func (c *Client) ListUsers(ctx context.Context, attribute string) ([]string, error) {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return nil, err
	}
	return c.Auth.ListUsers(ctx, attribute)
}
