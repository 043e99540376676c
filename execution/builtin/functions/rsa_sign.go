package functions

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// RSASign is builtin-rsa-sign (functions.md §2.2). Argument: data (a
// string). Input rsa_key: a DER PKCS#1 RSAPrivateKey of 2048 to 4096 bits
// (what ring accepted for signing). Summary: the standard, padded base64
// of the RSASSA-PKCS1-v1_5 SHA-256 signature of data's UTF-8 bytes,
// deterministic and as long as the modulus.
func RSASign(l Limits) Function {
	l = l.withDefaults()
	return Function{Name: NameRSASign, Run: func(ctx context.Context, raw json.RawMessage, rt executor.Runtime) ([]byte, error) {
		a, err := parseArguments(raw)
		if err != nil {
			return nil, err
		}
		data, err := a.String("data")
		if err != nil {
			return nil, err
		}
		der, err := readInput(ctx, rt, "rsa_key", l.MaxKeyBytes)
		if err != nil {
			return nil, err
		}
		// The parser's own error is left out: the key is a secret and
		// the reason reaches the task's users.
		key, err := x509.ParsePKCS1PrivateKey(der)
		clear(der)
		if err != nil {
			return nil, errors.New("rsa_key is not a DER PKCS#1 RSA private key")
		}
		if bits := key.N.BitLen(); bits < 2048 || bits > 4096 {
			return nil, fmt.Errorf("rsa_key has %d bits; it must have 2048 to 4096", bits)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		digest := sha256.Sum256([]byte(data))
		sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
		if err != nil {
			return nil, errors.New("signing failed")
		}
		rt.Logger("teaclave_function::rsa_sign").Info(
			fmt.Sprintf("signed %d bytes with a %d-bit key", len(data), key.N.BitLen()))
		return []byte(base64.StdEncoding.EncodeToString(sig)), nil
	}}
}
