package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/teaclave-go/teaclave"
)

// secretLen is the HS512 key size: 512 bits, the hash's output size (the
// minimum go-jose accepts for HS512). Teaclave used 512 bytes, regenerated
// at every start; ours is generated once and kept in the sealed store, so
// tokens survive a restart (protocol §20 item 3).
const secretLen = 64

// Claims are the verified claims of a token (protocol §5.3).
type Claims struct {
	// Subject is the user id.
	Subject string
	// Role is the user's role.
	Role teaclave.Role
	// Issuer is always Issuer ("Teaclave").
	Issuer string
	// Expiry is when the token stops being valid.
	Expiry time.Time
}

// Caller returns the authenticated caller the claims describe.
func (c Claims) Caller() teaclave.Caller { return teaclave.Caller{ID: c.Subject, Role: c.Role} }

// tokenClaims is the JSON payload of a token: Teaclave's four claims, the
// registered nbf and iat, and the user's generation.
type tokenClaims struct {
	jwt.Claims
	Role string `json:"role"`
	// Generation is the user's generation when the token was issued; the
	// token is valid only while the user still has it.
	Generation uint64 `json:"gen"`
}

// errAuthFailed is the one answer to every authentication failure: it says
// nothing about which check failed or whether the user exists.
func errAuthFailed() error {
	return teaclave.Errorf(teaclave.KindUnauthenticated, "authentication failed")
}

func (s *Service) issueToken(rec *userRecord, now time.Time) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS512, Key: s.secret},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", errInternal(err)
	}
	// Whole seconds, as JWT numeric dates are.
	now = now.Truncate(time.Second)
	c := tokenClaims{
		Claims: jwt.Claims{
			Subject:   rec.ID,
			Issuer:    Issuer,
			Expiry:    jwt.NewNumericDate(now.Add(s.cfg.TokenLifetime)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
		},
		Role:       rec.Role,
		Generation: rec.Generation,
	}
	tok, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		return "", errInternal(err)
	}
	return tok, nil
}

// UserAuthenticate verifies that token is a valid token of user id and
// returns its claims. It implements Authenticator.
//
// It refuses, with the single error Unauthenticated "authentication
// failed": an empty or oversized id or token; anything but a compact JWS
// signed with HS512 under this service's key (alg none and every other
// algorithm included); a payload without exp, or expired (no leeway), or
// not yet valid (nbf or iat in the future); an issuer other than
// "Teaclave"; a subject other than id; a role that does not parse; a user
// that does not exist (never did, or was deleted); and a generation other
// than the user's current one (revoked by a password change or reset or a
// role change). The reason is logged at debug level, never the token.
func (s *Service) UserAuthenticate(ctx context.Context, id, token string) (Claims, error) {
	if err := s.ready(); err != nil {
		return Claims{}, err
	}
	c, reason := s.verifyToken(id, token, s.clock.Now())
	if reason != nil {
		s.log.DebugContext(ctx, "token refused", "id", logID(id), "reason", reason)
		return Claims{}, errAuthFailed()
	}
	rec, _, err := s.getUser(ctx, id)
	if err != nil {
		return Claims{}, err
	}
	switch {
	case rec == nil:
		reason = errors.New("no such user")
	case rec.Generation != c.Generation:
		reason = errors.New("stale generation")
	case rec.Role != c.Role:
		reason = errors.New("role changed") // implies a new generation; checked anyway
	}
	if reason != nil {
		s.log.DebugContext(ctx, "token refused", "id", logID(id), "reason", reason)
		return Claims{}, errAuthFailed()
	}
	return Claims{Subject: c.Subject, Role: teaclave.ParseRole(c.Role), Issuer: c.Issuer, Expiry: c.Expiry.Time()}, nil
}

// verifyToken checks everything about a token that needs no store read.
// The returned reason is for the debug log only.
func (s *Service) verifyToken(id, token string, now time.Time) (*tokenClaims, error) {
	if id == "" || len(id) > MaxIDLen {
		return nil, errors.New("bad id")
	}
	if token == "" {
		return nil, errors.New("empty token")
	}
	if len(token) > MaxTokenLen {
		return nil, errors.New("oversized token")
	}
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.HS512})
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if len(parsed.Headers) != 1 {
		return nil, errors.New("not exactly one signature")
	}
	var c tokenClaims
	// Claims verifies the HMAC (in constant time) before decoding.
	if err := parsed.Claims(s.secret, &c); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if c.Expiry == nil {
		return nil, errors.New("no exp")
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: Issuer, Time: now}, 0); err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(c.Subject), []byte(id)) != 1 {
		return nil, errors.New("subject is not the id presented")
	}
	if !teaclave.ParseRole(c.Role).Valid() {
		return nil, errors.New("invalid role claim")
	}
	if c.Generation == 0 {
		return nil, errors.New("no generation")
	}
	return &c, nil
}

// loadSecret reads the token key from the store, creating it on first
// start. Two services starting on one store at once agree on one key.
func (s *Service) loadSecret(ctx context.Context) ([]byte, error) {
	for range maxCommitAttempts {
		b, _, err := s.store.Get(ctx, keyJWTSecret)
		if err == nil {
			if len(b) != secretLen {
				return nil, fmt.Errorf("auth: stored token key has %d bytes, want %d", len(b), secretLen)
			}
			return b, nil
		}
		if teaclave.KindOf(err) != teaclave.KindNotFound {
			return nil, fmt.Errorf("auth: read token key: %w", err)
		}
		key := make([]byte, secretLen)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		_, err = s.store.Commit(ctx, []teaclave.Condition{teaclave.Absent(keyJWTSecret)},
			[]teaclave.Op{teaclave.PutOp(keyJWTSecret, key)})
		if err == nil {
			return key, nil
		}
		if teaclave.KindOf(err) != teaclave.KindFailedPrecondition {
			return nil, fmt.Errorf("auth: store token key: %w", err)
		}
	}
	return nil, errors.New("auth: could not create the token key")
}

// logID makes a user id safe to log: ids are not secret, but a refused
// request's id may be anything, so it is bounded.
func logID(id string) string {
	if len(id) > 64 {
		return id[:64] + "…"
	}
	return id
}
