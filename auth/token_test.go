//go:build !teaclave_production

package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/teaclave-go/teaclave"
)

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

// testRSAKey is generated once per test binary, 2048 bits.
func testRSAKey(t *testing.T) *rsa.PrivateKey {
	rsaOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		rsaKey = k
	})
	return rsaKey
}

func b64(v []byte) string { return base64.RawURLEncoding.EncodeToString(v) }

func jsonB64(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64(b)
}

// sign makes a compact JWS of payload with alg and key through go-jose.
func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, payload map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// claimsOf decodes a token's payload without verifying it.
func claimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTokenShape(t *testing.T) {
	e := newEnv(t)
	tok := e.login("admin", "teaclave")
	parts := strings.Split(tok, ".")
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var h map[string]any
	if err := json.Unmarshal(hb, &h); err != nil {
		t.Fatal(err)
	}
	if h["alg"] != "HS512" || h["typ"] != "JWT" || len(h) != 2 {
		t.Errorf("header = %v, want {alg: HS512, typ: JWT}", h)
	}
	c := claimsOf(t, tok)
	if c["sub"] != "admin" || c["role"] != "PlatformAdmin" || c["iss"] != "Teaclave" {
		t.Errorf("claims = %v", c)
	}
	if exp := int64(c["exp"].(float64)); exp != t0.Add(24*time.Hour).Unix() {
		t.Errorf("exp = %d, want now + 24 h = %d", exp, t0.Add(24*time.Hour).Unix())
	}
	if c["gen"].(float64) < 1 {
		t.Errorf("gen = %v", c["gen"])
	}
	claims, err := e.s.UserAuthenticate(context.Background(), "admin", tok)
	if err != nil {
		t.Fatal(err)
	}
	if claims.Subject != "admin" || claims.Role.Kind != teaclave.RolePlatformAdmin || claims.Issuer != Issuer ||
		!claims.Expiry.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("claims = %+v", claims)
	}
	if len(tok) > 600 {
		t.Errorf("token is %d bytes; MaxTokenLen assumes a few hundred", len(tok))
	}
}

// attack is a named way of getting a token accepted that must fail.
type attack struct {
	name string
	// make returns the id and token to present. It may change the
	// service's state (delete the user, change the password).
	make func(t *testing.T, e *env) (id, token string)
}

// forgedClaims are the claims of a valid token of alice, to be altered.
func forgedClaims(t *testing.T, e *env) map[string]any {
	t.Helper()
	return claimsOf(t, e.login("alice", "alice-pw"))
}

func replacePart(tok string, i int, part string) string {
	parts := strings.Split(tok, ".")
	parts[i] = part
	return strings.Join(parts, ".")
}

// tokenAttacks lists the attacks; each must be refused with the one
// authentication failure, in process and over gRPC.
func tokenAttacks() []attack {
	withClaims := func(edit func(m map[string]any)) func(t *testing.T, e *env) (string, string) {
		return func(t *testing.T, e *env) (string, string) {
			m := forgedClaims(t, e)
			edit(m)
			return "alice", sign(t, jose.HS512, e.s.secret, m)
		}
	}
	return []attack{
		{"bad signature (other key)", func(t *testing.T, e *env) (string, string) {
			other := make([]byte, secretLen)
			_, _ = rand.Read(other)
			return "alice", sign(t, jose.HS512, other, forgedClaims(t, e))
		}},
		{"bad signature (flipped byte)", func(t *testing.T, e *env) (string, string) {
			tok := e.login("alice", "alice-pw")
			parts := strings.Split(tok, ".")
			sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
			sig[10] ^= 1
			return "alice", replacePart(tok, 2, b64(sig))
		}},
		{"alg none", func(t *testing.T, e *env) (string, string) {
			h := jsonB64(t, map[string]any{"alg": "none", "typ": "JWT"})
			return "alice", h + "." + jsonB64(t, forgedClaims(t, e)) + "."
		}},
		{"alg None with the real signature", func(t *testing.T, e *env) (string, string) {
			tok := e.login("alice", "alice-pw")
			return "alice", replacePart(tok, 0, jsonB64(t, map[string]any{"alg": "None", "typ": "JWT"}))
		}},
		{"alg HS256 with the real key", func(t *testing.T, e *env) (string, string) {
			return "alice", sign(t, jose.HS256, e.s.secret, forgedClaims(t, e))
		}},
		{"alg HS384 with the real key", func(t *testing.T, e *env) (string, string) {
			return "alice", sign(t, jose.HS384, e.s.secret, forgedClaims(t, e))
		}},
		{"alg RS256", func(t *testing.T, e *env) (string, string) {
			return "alice", sign(t, jose.RS256, testRSAKey(t), forgedClaims(t, e))
		}},
		{"alg RS256 header on an HMAC signature", func(t *testing.T, e *env) (string, string) {
			tok := e.login("alice", "alice-pw")
			return "alice", replacePart(tok, 0, jsonB64(t, map[string]any{"alg": "RS256", "typ": "JWT"}))
		}},
		{"alg ES256", func(t *testing.T, e *env) (string, string) {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			return "alice", sign(t, jose.ES256, k, forgedClaims(t, e))
		}},
		{"expired", func(t *testing.T, e *env) (string, string) {
			tok := e.login("alice", "alice-pw")
			e.clock.Advance(24*time.Hour + time.Second)
			return "alice", tok
		}},
		{"expired (forged exp in the past)", withClaims(func(m map[string]any) { m["exp"] = t0.Add(-time.Second).Unix() })},
		{"no exp", withClaims(func(m map[string]any) { delete(m, "exp") })},
		{"not yet valid (nbf)", withClaims(func(m map[string]any) { m["nbf"] = t0.Add(time.Hour).Unix() })},
		{"issued in the future (iat)", withClaims(func(m map[string]any) { m["iat"] = t0.Add(time.Hour).Unix() })},
		{"wrong issuer", withClaims(func(m map[string]any) { m["iss"] = "Teaclave2" })},
		{"no issuer", withClaims(func(m map[string]any) { delete(m, "iss") })},
		{"unknown user", func(t *testing.T, e *env) (string, string) {
			m := forgedClaims(t, e)
			m["sub"] = "ghost"
			return "ghost", sign(t, jose.HS512, e.s.secret, m)
		}},
		{"deleted user", func(t *testing.T, e *env) (string, string) {
			tok := e.login("alice", "alice-pw")
			if err := e.s.DeleteUser(e.admin(), "alice"); err != nil {
				t.Fatal(err)
			}
			return "alice", tok
		}},
		{"deleted and registered again", func(t *testing.T, e *env) (string, string) {
			tok := e.login("alice", "alice-pw")
			if err := e.s.DeleteUser(e.admin(), "alice"); err != nil {
				t.Fatal(err)
			}
			e.register("alice", "alice-pw", role("DataOwner", "org1"))
			return "alice", tok
		}},
		{"stale generation", withClaims(func(m map[string]any) { m["gen"] = m["gen"].(float64) - 1 })},
		{"future generation", withClaims(func(m map[string]any) { m["gen"] = m["gen"].(float64) + 1 })},
		{"no generation", withClaims(func(m map[string]any) { delete(m, "gen") })},
		{"generation as a string", withClaims(func(m map[string]any) { m["gen"] = "1" })},
		{"invalid role claim", withClaims(func(m map[string]any) { m["role"] = "Invalid" })},
		{"escalated role claim, signed", withClaims(func(m map[string]any) { m["role"] = "PlatformAdmin" })},
		{"token of user A with id B", func(t *testing.T, e *env) (string, string) {
			return "bob", e.login("alice", "alice-pw")
		}},
		{"id differing in case", func(t *testing.T, e *env) (string, string) {
			return "Alice", e.login("alice", "alice-pw")
		}},
		{"after password change", func(t *testing.T, e *env) (string, string) {
			tok := e.login("alice", "alice-pw")
			if err := e.s.UserChangePassword(e.as("alice", "alice-pw"), "new-pw"); err != nil {
				t.Fatal(err)
			}
			return "alice", tok
		}},
		{"after password reset", func(t *testing.T, e *env) (string, string) {
			tok := e.login("alice", "alice-pw")
			if _, err := e.s.ResetUserPassword(e.admin(), "alice"); err != nil {
				t.Fatal(err)
			}
			return "alice", tok
		}},
		{"after role change", func(t *testing.T, e *env) (string, string) {
			tok := e.login("alice", "alice-pw")
			if err := e.s.UserUpdate(e.admin(), "alice", "alice-pw", role("DataOwner", "org2")); err != nil {
				t.Fatal(err)
			}
			return "alice", tok
		}},
		{"after deletion", func(t *testing.T, e *env) (string, string) {
			tok := e.login("bob", "bob-pw")
			if err := e.s.DeleteUser(e.admin(), "bob"); err != nil {
				t.Fatal(err)
			}
			return "bob", tok
		}},
		{"tampered payload", func(t *testing.T, e *env) (string, string) {
			tok := e.login("alice", "alice-pw")
			m := claimsOf(t, tok)
			m["role"] = "PlatformAdmin"
			return "alice", replacePart(tok, 1, jsonB64(t, m))
		}},
		{"tampered payload (exp extended)", func(t *testing.T, e *env) (string, string) {
			tok := e.login("alice", "alice-pw")
			m := claimsOf(t, tok)
			m["exp"] = t0.Add(1000 * time.Hour).Unix()
			return "alice", replacePart(tok, 1, jsonB64(t, m))
		}},
		{"tampered header", func(t *testing.T, e *env) (string, string) {
			tok := e.login("alice", "alice-pw")
			return "alice", replacePart(tok, 0, jsonB64(t, map[string]any{"alg": "HS512", "typ": "JWT", "kid": "x"}))
		}},
		{"truncated", func(t *testing.T, e *env) (string, string) {
			tok := e.login("alice", "alice-pw")
			return "alice", tok[:len(tok)-1]
		}},
		{"truncated to two parts", func(t *testing.T, e *env) (string, string) {
			tok := e.login("alice", "alice-pw")
			return "alice", tok[:strings.LastIndex(tok, ".")]
		}},
		{"empty", func(t *testing.T, e *env) (string, string) { return "alice", "" }},
		{"1 MB token", func(t *testing.T, e *env) (string, string) {
			tok := e.login("alice", "alice-pw")
			return "alice", tok + strings.Repeat("A", 1<<20)
		}},
		{"malformed: not a JWT", func(t *testing.T, e *env) (string, string) { return "alice", "wrong_token" }},
		{"malformed: three empty parts", func(t *testing.T, e *env) (string, string) { return "alice", ".." }},
		{"malformed: bad base64", func(t *testing.T, e *env) (string, string) { return "alice", "!!!.@@@.###" }},
		{"malformed: signed garbage payload", func(t *testing.T, e *env) (string, string) {
			signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS512, Key: e.s.secret}, nil)
			obj, _ := signer.Sign([]byte("not json"))
			s, _ := obj.CompactSerialize()
			return "alice", s
		}},
		{"malformed: five parts", func(t *testing.T, e *env) (string, string) {
			return "alice", e.login("alice", "alice-pw") + ".a.b"
		}},
		{"malformed: JWS JSON serialization", func(t *testing.T, e *env) (string, string) {
			signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS512, Key: e.s.secret}, nil)
			b, _ := json.Marshal(forgedClaims(t, e))
			obj, _ := signer.Sign(b)
			return "alice", obj.FullSerialize()
		}},
		{"trailing whitespace", func(t *testing.T, e *env) (string, string) {
			return "alice", e.login("alice", "alice-pw") + " "
		}},
	}
}

// attackReasons is the debug-log reason each attack must be refused for.
var attackReasons = map[string]string{
	"bad signature (other key)":             "verify: go-jose/go-jose: error in cryptographic primitive",
	"bad signature (flipped byte)":          "verify: go-jose/go-jose: error in cryptographic primitive",
	"alg none":                              `unexpected signature algorithm \"none\"`,
	"alg None with the real signature":      `unexpected signature algorithm \"None\"`,
	"alg HS256 with the real key":           `unexpected signature algorithm \"HS256\"`,
	"alg HS384 with the real key":           `unexpected signature algorithm \"HS384\"`,
	"alg RS256":                             `unexpected signature algorithm \"RS256\"`,
	"alg RS256 header on an HMAC signature": `unexpected signature algorithm \"RS256\"`,
	"alg ES256":                             `unexpected signature algorithm \"ES256\"`,
	"expired":                               "token is expired (exp)",
	"expired (forged exp in the past)":      "token is expired (exp)",
	"no exp":                                `reason="no exp"`,
	"not yet valid (nbf)":                   "token not valid yet (nbf)",
	"issued in the future (iat)":            "token issued in the future (iat)",
	"wrong issuer":                          "invalid issuer claim (iss)",
	"no issuer":                             "invalid issuer claim (iss)",
	"unknown user":                          "no such user",
	"deleted user":                          "no such user",
	"deleted and registered again":          "stale generation",
	"stale generation":                      "stale generation",
	"future generation":                     "stale generation",
	"no generation":                         `reason="no generation"`,
	"generation as a string":                "cannot unmarshal string",
	"invalid role claim":                    "invalid role claim",
	"escalated role claim, signed":          "role changed",
	"token of user A with id B":             "subject is not the id presented",
	"id differing in case":                  "subject is not the id presented",
	"after password change":                 "stale generation",
	"after password reset":                  "stale generation",
	"after role change":                     "stale generation",
	"after deletion":                        "no such user",
	"tampered payload":                      "verify: go-jose/go-jose: error in cryptographic primitive",
	"tampered payload (exp extended)":       "verify: go-jose/go-jose: error in cryptographic primitive",
	"tampered header":                       "verify: go-jose/go-jose: error in cryptographic primitive",
	"truncated":                             "parse: illegal base64 data",
	"truncated to two parts":                "compact JWS format must have three parts",
	"empty":                                 "empty token",
	"1 MB token":                            "oversized token",
	"malformed: not a JWT":                  "compact JWS format must have three parts",
	"malformed: three empty parts":          `unexpected signature algorithm \"\"`,
	"malformed: bad base64":                 "parse: illegal base64 data",
	"malformed: signed garbage payload":     "verify: invalid character",
	"malformed: five parts":                 "compact JWS format must have three parts",
	"malformed: JWS JSON serialization":     "compact JWS format must have three parts",
	"trailing whitespace":                   "parse: illegal base64 data",
}

func attackEnv(t testing.TB) *env {
	e := newEnv(t)
	e.register("alice", "alice-pw", role("DataOwner", "org1"))
	e.register("bob", "bob-pw", role("DataOwner", "org1"))
	return e
}

func TestTokenAttacks(t *testing.T) {
	attacks := tokenAttacks()
	if len(attacks) < 15 {
		t.Fatalf("only %d attacks", len(attacks))
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			e := attackEnv(t)
			id, tok := a.make(t, e)
			mark := len(e.logs.String())
			_, err := e.s.UserAuthenticate(context.Background(), id, tok)
			wantAuthFailed(t, err, a.name)
			// The refusal must come from the check the attack targets.
			want, ok := attackReasons[a.name]
			if !ok {
				t.Fatalf("no expected reason for %q", a.name)
			}
			if got := e.logs.String()[mark:]; !strings.Contains(got, want) {
				t.Fatalf("refused for another reason: log %q, want %q", got, want)
			}
			// The token of the other user still works: the refusal is
			// about this token, not a broken service.
			if _, err := e.s.UserAuthenticate(context.Background(), "admin", e.login("admin", "teaclave")); err != nil {
				t.Fatalf("control token refused: %v", err)
			}
		})
	}
}

// TestExpiryBoundary: a token is valid through its exp second and refused
// after it (no leeway).
func TestExpiryBoundary(t *testing.T) {
	e := newEnv(t)
	tok := e.login("admin", "teaclave")
	e.clock.Advance(24 * time.Hour)
	if _, err := e.s.UserAuthenticate(context.Background(), "admin", tok); err != nil {
		t.Fatalf("at exp: %v", err)
	}
	e.clock.Advance(time.Second)
	_, err := e.s.UserAuthenticate(context.Background(), "admin", tok)
	wantAuthFailed(t, err, "one second after exp")
}

// TestRevocationIsPerUser: revoking alice's tokens leaves bob's alone.
func TestRevocationIsPerUser(t *testing.T) {
	e := attackEnv(t)
	bob := e.login("bob", "bob-pw")
	if _, err := e.s.ResetUserPassword(e.admin(), "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.UserAuthenticate(context.Background(), "bob", bob); err != nil {
		t.Fatalf("bob's token after alice's reset: %v", err)
	}
}

// FuzzUserAuthenticate: no input is accepted and nothing panics. The
// seeds include a valid token presented with other ids.
func FuzzUserAuthenticate(f *testing.F) {
	e := attackEnv(f)
	valid := e.login("alice", "alice-pw")
	f.Add("alice", "wrong_token")
	f.Add("bob", valid)
	f.Add("alice ", valid)
	f.Add("alice", valid+"=")
	f.Add("alice", "eyJhbGciOiJub25lIn0.e30.")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, id, tok string) {
		if id == "alice" && tok == valid {
			return
		}
		if _, err := e.s.UserAuthenticate(context.Background(), id, tok); teaclave.KindOf(err) != teaclave.KindUnauthenticated {
			t.Fatalf("id %q token %q: %v, want Unauthenticated", id, tok, err)
		}
	})
}

// TestForgeryControl shows the forging helpers make acceptable tokens
// when nothing is altered, so each attack fails for its alteration.
func TestForgeryControl(t *testing.T) {
	e := attackEnv(t)
	tok := sign(t, jose.HS512, e.s.secret, forgedClaims(t, e))
	if _, err := e.s.UserAuthenticate(context.Background(), "alice", tok); err != nil {
		t.Fatalf("unaltered forged token refused: %v", err)
	}
}
