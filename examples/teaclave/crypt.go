package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/teaclave-go/teaclave/execution/filecrypto"
	"github.com/teaclave-go/teaclave/sdk"
)

func encryptCommand() *command {
	return &command{name: "encrypt", summary: "encrypt a file for the platform (aes-gcm-128, aes-gcm-256, teaclave-file-128)", run: runEncrypt}
}

func decryptCommand() *command {
	return &command{name: "decrypt", summary: "decrypt and authenticate a file in the platform's formats", run: runDecrypt}
}

// keyLen is the key length of a schema.
func keyLen(schema filecrypto.Schema) int {
	if schema == filecrypto.SchemaAESGCM256 {
		return 32
	}
	return 16
}

// createKeyFile writes a fresh random key for schema, in hex, to a new
// file at path (mode 0600). An existing key file is kept as it is: a key
// is never replaced, since whatever it encrypted would be lost.
func createKeyFile(path string, schema filecrypto.Schema) error {
	key := make([]byte, keyLen(schema))
	if _, err := rand.Read(key); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create key file: %w", err)
	}
	if _, err := fmt.Fprintln(f, hex.EncodeToString(key)); err != nil {
		f.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	return f.Close()
}

func toSDK(info filecrypto.CryptoInfo) sdk.CryptoInfo {
	return sdk.CryptoInfo{Schema: string(info.Schema), Key: info.Key, IV: info.IV}
}

func runEncrypt(a *app, args []string) error {
	var out output
	var cf cryptoFlags
	var createKey bool
	f := a.newFlags("teaclave encrypt", "--schema SCHEMA (--key-file PATH [--create-key] | --key-env NAME) [--iv HEX] PLAINTEXT ENCRYPTED", `
Encrypts PLAINTEXT into a new file ENCRYPTED (mode 0600) and prints the schema,
IV and cmac as name=value lines (shell-friendly: eval "$(teaclave encrypt ...)"
sets $schema, $iv and $cmac). The key comes from a file (hex or raw bytes) or an
environment variable (hex), never from the command line; --create-key first
writes a fresh random key to --key-file if that file does not exist (an
existing key is never replaced). aes-gcm files get a fresh random IV unless
--iv is given: never encrypt two files under the same key and IV.
A teaclave-file-128 file is bound to ENCRYPTED's base name: the platform must
fetch it under that name.`)
	cf.register(f)
	f.BoolVar(&createKey, "create-key", false, "create --key-file with a fresh random key unless it exists")
	out.register(f)
	pos, err := f.parseN(args, "PLAINTEXT", "ENCRYPTED")
	if err != nil {
		return err
	}
	schema, err := filecrypto.ParseSchema(cf.schema)
	if err != nil || schema == filecrypto.SchemaRaw {
		return usagef("--schema %q: want aes-gcm-128, aes-gcm-256 or teaclave-file-128", cf.schema)
	}
	if createKey {
		if cf.key.file == "" {
			return usagef("--create-key needs --key-file")
		}
		if err := createKeyFile(cf.key.file, schema); err != nil {
			return err
		}
	}
	if cf.iv == "" && schema != filecrypto.SchemaTeaclaveFile128 {
		iv := make([]byte, 12)
		if _, err := rand.Read(iv); err != nil {
			return err
		}
		cf.iv = hex.EncodeToString(iv)
	}
	info, err := cf.info(a)
	if err != nil {
		return err
	}
	if abs1, abs2 := absPath(pos[0]), absPath(pos[1]); abs1 == abs2 {
		return usagef("PLAINTEXT and ENCRYPTED are the same file")
	}
	tag, err := sdk.EncryptFile(toSDK(info), pos[0], pos[1])
	if err != nil {
		return fmt.Errorf("encrypt %s: %w", pos[0], err)
	}
	v := map[string]string{"schema": string(info.Schema), "iv": hex.EncodeToString(info.IV), "cmac": tag.String(), "file": pos[1]}
	return a.print(&out, v, func(w io.Writer) {
		fmt.Fprintf(w, "schema=%s\n", info.Schema)
		if len(info.IV) > 0 {
			fmt.Fprintf(w, "iv=%x\n", info.IV)
		}
		fmt.Fprintf(w, "cmac=%s\n", tag)
	})
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func runDecrypt(a *app, args []string) error {
	var out output
	var cf cryptoFlags
	var cmacHex string
	f := a.newFlags("teaclave decrypt", "--schema SCHEMA (--key-file PATH | --key-env NAME) [--iv HEX] [--cmac HEX] ENCRYPTED PLAINTEXT", `
Authenticates and decrypts ENCRYPTED into PLAINTEXT (mode 0600; "-" writes to
standard output) and prints its cmac. With --cmac, a file with another cmac
(for example a task's output tag) is refused. A teaclave-file-128 file must
keep the base name it was written under. Nothing is written if the file does
not authenticate.`)
	cf.register(f)
	f.StringVar(&cmacHex, "cmac", "", "expected cmac (32 hex digits)")
	out.register(f)
	pos, err := f.parseN(args, "ENCRYPTED", "PLAINTEXT")
	if err != nil {
		return err
	}
	info, err := cf.info(a)
	if err != nil {
		return err
	}
	var expected *sdk.Tag
	if cmacHex != "" {
		t, err := sdk.ParseTag(cmacHex)
		if err != nil {
			return usagef("--cmac %q: want 32 hex digits", cmacHex)
		}
		expected = &t
	}
	var tag sdk.Tag
	if pos[1] == "-" {
		data, err := os.ReadFile(pos[0])
		if err != nil {
			return err
		}
		plain, t, err := sdk.Decrypt(toSDK(info), filepath.Base(pos[0]), data, expected)
		if err != nil {
			return decryptError(pos[0], err)
		}
		if _, err := a.stdout.Write(plain); err != nil {
			return err
		}
		tag = t
		if out.json {
			fmt.Fprintf(a.stderr, "cmac=%s\n", tag)
		}
		return nil
	}
	if absPath(pos[0]) == absPath(pos[1]) {
		return usagef("ENCRYPTED and PLAINTEXT are the same file")
	}
	tag, err = sdk.DecryptFile(toSDK(info), pos[0], pos[1], expected)
	if err != nil {
		return decryptError(pos[0], err)
	}
	return a.print(&out, map[string]string{"cmac": tag.String(), "file": pos[1]}, func(w io.Writer) {
		fmt.Fprintf(w, "cmac=%s\n", tag)
	})
}

func decryptError(path string, err error) error {
	err = fmt.Errorf("decrypt %s: %w", path, err)
	switch {
	case errors.Is(err, filecrypto.ErrTagMismatch):
		return withHint(err, "the file is not the one with that cmac")
	case errors.Is(err, filecrypto.ErrAuthentication), errors.Is(err, filecrypto.ErrMalformed):
		return withHint(err, "wrong key, IV or schema, or the file was modified")
	case errors.Is(err, filecrypto.ErrNameMismatch):
		return withHint(err, "a teaclave-file-128 file must keep the name it was written under")
	}
	return err
}
