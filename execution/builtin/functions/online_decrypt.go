package functions

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// OnlineDecrypt is builtin_online_decrypt (functions.md §2.2; an
// underscore name). Arguments, all strings: key (base64 of 16 or 32
// bytes), nonce (base64; its first 12 bytes are used), encrypted_data
// (base64 of the ciphertext and its 16-byte tag) and algorithm
// ("aes128gcm" or "aes256gcm"). It opens the data with AES-GCM and empty
// additional data (data files use 8 zero bytes instead). Summary: the
// plaintext, which must be UTF-8. Errors keep Teaclave's texts: "Invalid
// algorithm", "decryption error" (wrong key length or failed
// authentication) and "base64 decoded error" (sic: plaintext not UTF-8).
func OnlineDecrypt(Limits) Function {
	return Function{Name: NameOnlineDecrypt, Run: func(ctx context.Context, raw json.RawMessage, rt executor.Runtime) ([]byte, error) {
		a, err := parseArguments(raw)
		if err != nil {
			return nil, err
		}
		var decoded [3][]byte
		for i, key := range []string{"key", "nonce", "encrypted_data"} {
			s, err := a.String(key)
			if err != nil {
				return nil, err
			}
			if decoded[i], err = decodeBase64(s); err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
		}
		key, nonce, data := decoded[0], decoded[1], decoded[2]
		defer clear(key)
		algorithm, err := a.String("algorithm")
		if err != nil {
			return nil, err
		}
		var keyLen int
		switch algorithm {
		case "aes128gcm":
			keyLen = 16
		case "aes256gcm":
			keyLen = 32
		default:
			return nil, errors.New("Invalid algorithm")
		}
		// Teaclave sliced nonce[0..12] and panicked on a shorter one.
		if len(nonce) < 12 {
			return nil, errors.New("nonce must have at least 12 bytes")
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(key) != keyLen {
			return nil, errors.New("decryption error")
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, errors.New("decryption error")
		}
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			return nil, errors.New("decryption error")
		}
		plain, err := gcm.Open(nil, nonce[:12], data, nil)
		if err != nil {
			return nil, errors.New("decryption error")
		}
		if !utf8.Valid(plain) {
			clear(plain)
			return nil, errors.New("base64 decoded error")
		}
		rt.Logger("teaclave_function::online_decrypt").Info(
			fmt.Sprintf("decrypted %d bytes with %s", len(plain), algorithm))
		return plain, nil
	}}
}

// decodeBase64 decodes standard base64, padded or not (the base64 crate
// Teaclave used took both), refusing stray bits after the last symbol.
func decodeBase64(s string) ([]byte, error) {
	enc := base64.RawStdEncoding.Strict()
	if strings.HasSuffix(s, "=") {
		enc = base64.StdEncoding.Strict()
	}
	return enc.DecodeString(s)
}
