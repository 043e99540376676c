package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Environment variables of the CLI beyond the platform's own
// (deploy.EnvAuthAddr, deploy.EnvFrontendAddr, deploy.EnvDataDir).
const (
	envConfig   = "TEACLAVE_CONFIG"
	envUser     = "TEACLAVE_USER"
	envPassword = "TEACLAVE_PASSWORD"
)

// credentials is the credentials file: the saved logins, by user id, and
// which one commands use when --as and TEACLAVE_USER say nothing.
type credentials struct {
	Current string                `json:"current,omitempty"`
	Logins  map[string]savedLogin `json:"logins"`
}

// savedLogin is one user's session.
type savedLogin struct {
	ID       string `json:"id"`
	Token    string `json:"token"`
	AuthAddr string `json:"auth_addr,omitempty"`
	// Platform is the fingerprint of the attestation roots the login was
	// made against (platformID); the token goes nowhere else.
	Platform string    `json:"platform"`
	Expires  time.Time `json:"expires,omitzero"`
	SavedAt  time.Time `json:"saved_at"`
}

// configPath returns where the credentials file is: $TEACLAVE_CONFIG, or
// $XDG_CONFIG_HOME/teaclave/credentials.json, or
// $HOME/.config/teaclave/credentials.json.
func (a *app) configPath() (string, error) {
	if p := a.getenv(envConfig); p != "" {
		return p, nil
	}
	if d := a.getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "teaclave", "credentials.json"), nil
	}
	if h := a.getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "teaclave", "credentials.json"), nil
	}
	return "", errors.New("cannot find a place for the credentials file: set TEACLAVE_CONFIG, XDG_CONFIG_HOME or HOME")
}

// loadCredentials reads the credentials file; a missing file is empty.
// A file that others may read is refused: it holds tokens.
func (a *app) loadCredentials() (*credentials, string, error) {
	path, err := a.configPath()
	if err != nil {
		return nil, "", err
	}
	c := &credentials{Logins: map[string]savedLogin{}}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, path, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read credentials: %w", err)
	}
	defer f.Close()
	// Check the file that was opened, not the path again.
	st, err := f.Stat()
	if err != nil {
		return nil, "", fmt.Errorf("read credentials: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, "", withHint(fmt.Errorf("credentials file %s is not a regular file", path), "delete it and run `teaclave login` again")
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, "", withHint(fmt.Errorf("credentials file %s is readable by others (mode %v)", path, st.Mode().Perm()),
			fmt.Sprintf("it holds tokens: run `chmod 600 %s`, or delete it and log in again", path))
	}
	data, err := io.ReadAll(io.LimitReader(f, maxCredentialsFile+1))
	if err != nil {
		return nil, "", fmt.Errorf("read credentials: %w", err)
	}
	if len(data) > maxCredentialsFile {
		return nil, "", withHint(fmt.Errorf("credentials file %s is larger than %d bytes", path, maxCredentialsFile), "delete it and run `teaclave login` again")
	}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, "", withHint(fmt.Errorf("credentials file %s is not valid JSON: %w", path, err), "delete it and run `teaclave login` again")
	}
	if c.Logins == nil {
		c.Logins = map[string]savedLogin{}
	}
	return c, path, nil
}

// maxCredentialsFile bounds the credentials file the CLI reads.
const maxCredentialsFile = 1 << 20

// save writes the credentials file with mode 0600 (its folder 0700),
// through a temporary file and a rename.
func (c *credentials) save(path string) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".credentials-*.json")
	if err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("save credentials: %w", err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save credentials: %w", err)
	}
	// On disk before the rename, so a crash leaves the old file or the
	// new one, never an empty one.
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save credentials: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	return nil
}

// ids returns the saved user ids, sorted.
func (c *credentials) ids() []string {
	var ids []string
	for id := range c.Logins {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// session returns the saved login to use: as (--as), else TEACLAVE_USER,
// else the current one. Its errors say how to log in.
func (a *app) session(as string) (savedLogin, error) {
	c, _, err := a.loadCredentials()
	if err != nil {
		return savedLogin{}, err
	}
	id := as
	if id == "" {
		id = a.getenv(envUser)
	}
	if id == "" {
		id = c.Current
	}
	if id == "" {
		return savedLogin{}, withHint(errors.New("not logged in"), "run `teaclave login`")
	}
	s, ok := c.Logins[id]
	if !ok {
		hint := fmt.Sprintf("run `teaclave login --id %s`", id)
		if ids := c.ids(); len(ids) > 0 {
			hint += "; saved logins: " + strings.Join(ids, ", ")
		}
		return savedLogin{}, withHint(fmt.Errorf("not logged in as %s", id), hint)
	}
	if !s.Expires.IsZero() && time.Now().After(s.Expires) {
		return savedLogin{}, withHint(fmt.Errorf("the session of %s expired at %s", id, s.Expires.Format(time.RFC3339)), fmt.Sprintf("run `teaclave login --id %s`", id))
	}
	return s, nil
}

// tokenExpiry reads the exp claim of a JWT without verifying it (the
// platform verifies tokens; the CLI only wants to say "expired" early).
func tokenExpiry(token string) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp <= 0 {
		return time.Time{}
	}
	return time.Unix(claims.Exp, 0).UTC()
}
