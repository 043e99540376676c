package teaclave

import (
	"strings"

	"github.com/google/uuid"
)

// Id prefixes in use on the wire and in storage keys (protocol §4.1).
const (
	PrefixFunction = "function"
	PrefixInput    = "input"
	PrefixOutput   = "output"
	PrefixTask     = "task"
	PrefixUsage    = "usage"
	PrefixUser     = "user"
)

// maxIDLen bounds the text a parser looks at: the longest prefix in use plus
// the separator and a canonical UUID, with room for future prefixes.
const maxIDLen = 64

// ID is an object id in Teaclave's "<prefix>-<uuid>" text form, for example
// "task-9c1b3e8a-5c2f-4d8e-9a51-3f2f6b1d0a7e". The zero ID is invalid.
type ID struct {
	prefix string
	uuid   uuid.UUID
}

// NewID returns a fresh id with a random (version 4) UUID.
func NewID(prefix string) ID {
	return ID{prefix: prefix, uuid: uuid.New()}
}

// IDFromUUID returns the id with the given prefix and UUID.
func IDFromUUID(prefix string, u uuid.UUID) ID {
	return ID{prefix: prefix, uuid: u}
}

// UserIndexID returns the id of a user's function index record: the UUID is
// the version 5 UUID of the user id in the DNS namespace, as in Teaclave.
func UserIndexID(userID string) ID {
	return ID{prefix: PrefixUser, uuid: uuid.NewSHA1(uuid.NameSpaceDNS, []byte(userID))}
}

// ParseID parses text as an id with exactly the given prefix. Unlike
// Teaclave, which accepted any prefix that merely started with the expected
// one and both UUID spellings, it accepts only the canonical form it
// produces: the prefix, one '-', and a lowercase hyphenated UUID. Errors are
// of kind KindInvalidArgument and quote no more than the expected shape.
func ParseID(text, prefix string) (ID, error) {
	if prefix == "" {
		return ID{}, Errorf(KindInvalidArgument, "invalid id: no prefix expected")
	}
	if len(text) > maxIDLen {
		return ID{}, Errorf(KindInvalidArgument, "invalid %s id: too long", prefix)
	}
	rest, ok := strings.CutPrefix(text, prefix+"-")
	if !ok {
		return ID{}, Errorf(KindInvalidArgument, "invalid %s id: want %s-<uuid>", prefix, prefix)
	}
	u, err := parseCanonicalUUID(rest)
	if err != nil {
		return ID{}, Errorf(KindInvalidArgument, "invalid %s id: want %s-<uuid>", prefix, prefix)
	}
	return ID{prefix: prefix, uuid: u}, nil
}

// ParseBareUUID parses a UUID in canonical lowercase hyphenated form without
// a prefix, as the scheduler API carries task ids.
func ParseBareUUID(text string) (uuid.UUID, error) {
	u, err := parseCanonicalUUID(text)
	if err != nil {
		return uuid.UUID{}, Errorf(KindInvalidArgument, "invalid uuid: want lowercase 8-4-4-4-12 hex")
	}
	return u, nil
}

func parseCanonicalUUID(s string) (uuid.UUID, error) {
	if len(s) != 36 {
		return uuid.UUID{}, ErrInvalidArgument
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return uuid.UUID{}, err
	}
	// uuid.Parse also takes upper case; the canonical form is lower case.
	if u.String() != s {
		return uuid.UUID{}, ErrInvalidArgument
	}
	return u, nil
}

// Prefix returns the id's prefix.
func (id ID) Prefix() string { return id.prefix }

// UUID returns the id's UUID.
func (id ID) UUID() uuid.UUID { return id.uuid }

// IsZero reports whether id is the zero ID.
func (id ID) IsZero() bool { return id.prefix == "" && id.uuid == uuid.Nil }

// String returns the id's wire form "<prefix>-<uuid>".
func (id ID) String() string {
	if id.IsZero() {
		return ""
	}
	return id.prefix + "-" + id.uuid.String()
}

// Key returns the id as a storage key (its wire form as bytes).
func (id ID) Key() []byte { return []byte(id.String()) }

// MarshalText implements encoding.TextMarshaler.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler. It accepts any
// registered prefix; callers that expect a specific one use ParseID.
func (id *ID) UnmarshalText(text []byte) error {
	s := string(text)
	for _, p := range []string{PrefixFunction, PrefixInput, PrefixOutput, PrefixTask, PrefixUsage, PrefixUser} {
		if strings.HasPrefix(s, p+"-") {
			parsed, err := ParseID(s, p)
			if err != nil {
				return err
			}
			*id = parsed
			return nil
		}
	}
	return Errorf(KindInvalidArgument, "invalid id: unknown prefix")
}
