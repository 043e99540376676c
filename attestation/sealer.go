package attestation

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
)

// Sealer hands out keys bound to this enclave (SGX: derived from the product
// seal key; simulation: from a key file). Each purpose gets its own key; the
// root secret is never handed out.
type Sealer interface {
	// Key returns the 32-byte key for purpose (a non-empty label such as
	// "storage"). The same purpose always yields the same key on the same
	// enclave identity.
	Key(ctx context.Context, purpose string) ([]byte, error)
}

// sealerSalt separates purpose keys of this framework from any other use of
// the same root secret.
const sealerSalt = "teaclave-go sealer v1"

// DerivePurposeKey derives a 32-byte key for purpose from a sealer's root
// secret with HKDF-SHA256. Sealer implementations share it so that keys are
// derived the same way everywhere.
func DerivePurposeKey(secret []byte, purpose string) ([]byte, error) {
	if len(secret) < 16 {
		return nil, fmt.Errorf("attestation: sealer secret too short")
	}
	if purpose == "" || len(purpose) > 255 {
		return nil, fmt.Errorf("attestation: sealer purpose must be 1 to 255 bytes")
	}
	return hkdf.Key(sha256.New, secret, []byte(sealerSalt), purpose, 32)
}
