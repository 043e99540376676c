//go:build !teaclave_production

package main

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// kv parses encrypt's name=value lines.
func kv(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("not name=value: %q", line)
		}
		m[k] = v
	}
	return m
}

func TestFile(t *testing.T) {
	c := withPlatform(t)
	c.adminWithUsers("user1")
	work := t.TempDir()
	key := filepath.Join(work, "k")
	plain := writeFile(t, work, "secret.txt", "password\n")
	enc := filepath.Join(work, "secret.enc")
	e := kv(t, c.ok("encrypt", "--schema", "aes-gcm-128", "--key-file", key, "--create-key", plain, enc))
	if e["schema"] != "aes-gcm-128" || len(e["iv"]) != 24 || len(e["cmac"]) != 32 {
		t.Fatalf("encrypt printed %v", e)
	}

	// --inline embeds the file; the cmac is computed from it.
	var reg struct {
		DataID string `json:"data_id"`
		Cmac   string `json:"cmac"`
	}
	c.jsonOut(&reg, "file", "register-input", "--inline", enc, "--schema", "aes-gcm-128", "--key-file", key, "--iv", e["iv"], "--as", "admin")
	if !strings.HasPrefix(reg.DataID, "input-") || reg.Cmac != e["cmac"] {
		t.Fatalf("register-input: %+v, encrypt cmac %s", reg, e["cmac"])
	}
	// --url with --cmac, key from the environment.
	keyHex := strings.TrimSpace(string(must(os.ReadFile(key))))
	in2 := c.okIn("", []string{"MY_KEY=" + keyHex}, "file", "register-input", "--url", "https://example.com/secret.enc", "--cmac", e["cmac"],
		"--schema", "aes-gcm-128", "--key-env", "MY_KEY", "--iv", e["iv"], "--as", "admin")

	var got struct {
		Owners []string
		Cmac   string
	}
	c.jsonOut(&got, "file", "get", in2, "--as", "admin")
	if len(got.Owners) != 1 || got.Owners[0] != "admin" || got.Cmac != e["cmac"] {
		t.Fatalf("file get: %+v", got)
	}
	moved := c.ok("file", "update", in2, "--url", "https://example.com/moved.enc", "--as", "admin")
	if !strings.HasPrefix(moved, "input-") || moved == in2 {
		t.Fatalf("update printed %q", moved)
	}

	// Outputs: register, get (no cmac yet), fusion.
	out := c.ok("file", "register-output", "--url", "https://example.com/out.enc", "--key-file", key, "--as", "admin")
	if s := c.ok("file", "get", out, "--as", "admin"); !strings.Contains(s, "not produced yet") {
		t.Fatalf("output get:\n%s", s)
	}
	fusion := c.ok("file", "fusion", "--owner", "admin", "--owner", "user1", "--as", "admin")
	if !strings.HasPrefix(fusion, "output-") {
		t.Fatalf("fusion printed %q", fusion)
	}
	// Not produced yet: it cannot become an input.
	c.fail(exitError, []string{"register input from output"}, "file", "input-from-output", fusion, "--as", "user1")
	// Someone else's file.
	c.fail(exitError, []string{"permission denied"}, "file", "get", in2, "--as", "user1")

	// A bad file: one flipped byte, and the CLI refuses to register it.
	data := must(os.ReadFile(enc))
	data[0] ^= 1
	bad := filepath.Join(work, "bad.enc")
	os.WriteFile(bad, data, 0o600)
	c.fail(exitError, []string{"cannot open", "authentication failed"}, "file", "register-input", "--url", "https://example.com/bad.enc", "--file", bad,
		"--schema", "aes-gcm-128", "--key-file", key, "--iv", e["iv"], "--as", "admin")
	// Missing or malformed pieces are usage errors.
	c.fail(exitUsage, []string{"--key-file PATH or --key-env NAME"}, "file", "register-input", "--url", "https://x/y", "--cmac", e["cmac"], "--as", "admin")
	c.fail(exitUsage, []string{"--iv is required"}, "file", "register-input", "--url", "https://x/y", "--cmac", e["cmac"], "--schema", "aes-gcm-128", "--key-file", key, "--as", "admin")
	c.fail(exitUsage, []string{"--cmac"}, "file", "register-input", "--url", "https://x/y", "--cmac", "zz", "--key-file", key, "--as", "admin")
	c.fail(exitUsage, []string{"not a data id"}, "file", "get", "task-1", "--as", "admin")
	c.fail(exitUsage, []string{"not an absolute URL"}, "file", "register-output", "--url", "out.enc", "--key-file", key, "--as", "admin")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestEncryptDecrypt(t *testing.T) {
	c := newCLI(t)
	work := t.TempDir()
	plain := bytes.Repeat([]byte("confidential data\n"), 1000)
	src := filepath.Join(work, "plain.txt")
	os.WriteFile(src, plain, 0o600)
	for _, schema := range []string{"aes-gcm-128", "aes-gcm-256", "teaclave-file-128"} {
		t.Run(schema, func(t *testing.T) {
			dir := t.TempDir()
			key := filepath.Join(dir, "key")
			enc := filepath.Join(dir, "data.enc")
			var e map[string]string
			c.jsonOut(&e, "encrypt", "--schema", schema, "--key-file", key, "--create-key", src, enc)
			if st, err := os.Stat(key); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("key file: %v %v", st, err)
			}
			keyHex := strings.TrimSpace(string(must(os.ReadFile(key))))
			if want := map[string]int{"aes-gcm-256": 64}[schema]; want == 0 && len(keyHex) != 32 || want != 0 && len(keyHex) != want {
				t.Fatalf("key of %d hex digits", len(keyHex))
			}
			ivArgs := []string{}
			if e["iv"] != "" {
				ivArgs = []string{"--iv", e["iv"]}
			}
			// Key from the environment, expected cmac given.
			dst := filepath.Join(dir, "out.txt")
			args := append([]string{"decrypt", "--schema", schema, "--key-env", "K", "--cmac", e["cmac"]}, ivArgs...)
			c.okIn("", []string{"K=" + keyHex}, append(args, enc, dst)...)
			if !bytes.Equal(must(os.ReadFile(dst)), plain) {
				t.Fatal("round trip differs")
			}
			// To standard output.
			r := c.runIn("", []string{"K=" + keyHex}, append(args, enc, "-")...)
			if r.code != 0 || r.stdout != string(plain) {
				t.Fatalf("decrypt to stdout: exit %d %s", r.code, r.stderr)
			}
			// A raw key file works too.
			raw := filepath.Join(dir, "raw")
			os.WriteFile(raw, must(hex.DecodeString(keyHex)), 0o600)
			c.ok(append(append([]string{"decrypt", "--schema", schema, "--key-file", raw}, ivArgs...), enc, filepath.Join(dir, "out2.txt"))...)

			// Bad file: a flipped byte is refused and nothing is written.
			data := must(os.ReadFile(enc))
			data[len(data)/2] ^= 0x40
			tampered := filepath.Join(dir, "data.enc")
			os.WriteFile(tampered, data, 0o600)
			bad := filepath.Join(dir, "bad.txt")
			c.fail(exitError, []string{"decrypt", "wrong key, IV or schema, or the file was modified"},
				append(append([]string{"decrypt", "--schema", schema, "--key-file", key}, ivArgs...), tampered, bad)...)
			if _, err := os.Stat(bad); !os.IsNotExist(err) {
				t.Fatal("a plaintext was written for a tampered file")
			}
		})
	}
	// Wrong expected cmac.
	key := filepath.Join(work, "k")
	enc := filepath.Join(work, "x.enc")
	c.ok("encrypt", "--schema", "teaclave-file-128", "--key-file", key, "--create-key", src, enc)
	c.fail(exitError, []string{"cmac"}, "decrypt", "--schema", "teaclave-file-128", "--key-file", key, "--cmac", strings.Repeat("00", 16), enc, filepath.Join(work, "y"))
	// --create-key never replaces a key: it encrypts under the existing one.
	before := must(os.ReadFile(key))
	c.ok("encrypt", "--schema", "teaclave-file-128", "--key-file", key, "--create-key", src, filepath.Join(work, "z.enc"))
	if after := must(os.ReadFile(key)); !bytes.Equal(before, after) {
		t.Fatal("--create-key replaced an existing key")
	}
	c.ok("decrypt", "--schema", "teaclave-file-128", "--key-file", key, filepath.Join(work, "z.enc"), filepath.Join(work, "z.txt"))
	// Keys are never taken from the command line.
	c.fail(exitUsage, []string{"flag provided but not defined: -key"}, "encrypt", "--key", "00112233445566778899aabbccddeeff", src, enc)
	c.fail(exitUsage, []string{"--key-file PATH or --key-env NAME"}, "encrypt", "--schema", "aes-gcm-128", src, filepath.Join(work, "w.enc"))
	c.fail(exitUsage, []string{"--schema"}, "encrypt", "--schema", "rot13", "--key-file", key, src, filepath.Join(work, "w.enc"))
	c.fail(exitError, []string{"not a key"}, "encrypt", "--schema", "aes-gcm-128", "--key-file", src, src, filepath.Join(work, "w.enc"))
	c.fail(exitError, []string{"no such file"}, "encrypt", "--schema", "aes-gcm-128", "--key-file", key, filepath.Join(work, "missing"), filepath.Join(work, "w.enc"))
}
