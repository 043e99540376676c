// Package clientutil holds what the example client programs share: the
// flags and environment variables that say where the platform is and what
// to trust, logging in, and the users' file storage, a plain HTTP server
// that answers GET and PUT (Teaclave's example file server).
package clientutil

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/sdk"
)

// Options are the settings every example client takes.
type Options struct {
	AuthAddr, FrontendAddr string
	DataDir                string
	Insecure               bool
	// Storage is the base URL of the users' file storage.
	Storage string
	// AdminUser and AdminPassword register the example's users.
	AdminUser, AdminPassword string
	Timeout                  time.Duration
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// Register adds the common flags to fs; their defaults come from the
// environment variables TEACLAVE_AUTH_ADDR, TEACLAVE_FRONTEND_ADDR,
// TEACLAVE_DATA_DIR and TEACLAVE_STORAGE_URL, then from the development
// platform's defaults.
func Register(fs *flag.FlagSet) *Options {
	o := &Options{}
	fs.StringVar(&o.AuthAddr, "auth", env("TEACLAVE_AUTH_ADDR", "127.0.0.1:7776"), "authentication api endpoint (env TEACLAVE_AUTH_ADDR)")
	fs.StringVar(&o.FrontendAddr, "frontend", env("TEACLAVE_FRONTEND_ADDR", "127.0.0.1:7777"), "frontend endpoint (env TEACLAVE_FRONTEND_ADDR)")
	fs.StringVar(&o.DataDir, "data-dir", env("TEACLAVE_DATA_DIR", "teaclave-data"), "the development platform's data folder, whose attestation root and signed enclave info are trusted (env TEACLAVE_DATA_DIR)")
	fs.BoolVar(&o.Insecure, "insecure-skip-verification", false, "do not verify the platform's attestation (development only: anyone can impersonate the platform)")
	fs.StringVar(&o.Storage, "storage", env("TEACLAVE_STORAGE_URL", "http://127.0.0.1:6789"), "base URL of the file storage the platform reads inputs from and writes outputs to (env TEACLAVE_STORAGE_URL)")
	fs.StringVar(&o.AdminUser, "admin", "admin", "user that registers the example's users")
	fs.StringVar(&o.AdminPassword, "admin-password", "teaclave", "that user's password")
	fs.DurationVar(&o.Timeout, "timeout", 2*time.Minute, "give up after this long")
	return o
}

// Trust returns the trust the options select.
func (o *Options) Trust() (*sdk.Trust, error) {
	if o.Insecure {
		return sdk.InsecureSkipVerification(), nil
	}
	return sdk.TrustFromDataDir(o.DataDir)
}

// Connect dials the platform and logs user in.
func (o *Options) Connect(ctx context.Context, trust *sdk.Trust, user, password string) (*sdk.Client, error) {
	c, err := sdk.Dial(ctx, sdk.Config{AuthAddr: o.AuthAddr, FrontendAddr: o.FrontendAddr, Trust: trust,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		return nil, err
	}
	if err := c.Login(ctx, user, password); err != nil {
		c.Close()
		return nil, fmt.Errorf("login as %s: %w", user, err)
	}
	return c, nil
}

// Users registers (if they do not exist yet) and logs in the example's
// users, each with password "<id>-password" and role, and returns their
// clients in order. Close them when done.
func (o *Options) Users(ctx context.Context, trust *sdk.Trust, role teaclave.Role, ids ...string) ([]*sdk.Client, error) {
	admin, err := o.Connect(ctx, trust, o.AdminUser, o.AdminPassword)
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	var out []*sdk.Client
	for _, id := range ids {
		err := admin.RegisterUser(ctx, id, id+"-password", role)
		if err != nil && !errors.Is(err, teaclave.ErrAlreadyExists) {
			CloseAll(out)
			return nil, fmt.Errorf("register %s: %w", id, err)
		}
		c, err := o.Connect(ctx, trust, id, id+"-password")
		if err != nil {
			CloseAll(out)
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// CloseAll closes clients.
func CloseAll(clients []*sdk.Client) {
	for _, c := range clients {
		c.Close()
	}
}

// URL returns the storage URL of a file.
func (o *Options) URL(name string) string {
	return strings.TrimSuffix(o.Storage, "/") + "/" + name
}

// Put stores data as name on the storage.
func (o *Options) Put(ctx context.Context, name string, data []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, o.URL(name), bytes.NewReader(data))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("upload %s: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("upload %s: %s", name, resp.Status)
	}
	return nil
}

// Get fetches name from the storage.
func (o *Options) Get(ctx context.Context, name string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.URL(name), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download %s: %s", name, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 64<<20))
}

// Main parses the flags and runs run with a context bounded by -timeout,
// exiting 1 with the error on failure.
func Main(name string, run func(ctx context.Context, o *Options, trust *sdk.Trust) error, extra func(fs *flag.FlagSet)) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	o := Register(fs)
	if extra != nil {
		extra(fs)
	}
	fs.Parse(os.Args[1:])
	trust, err := o.Trust()
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
		err = run(ctx, o, trust)
		cancel()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}
