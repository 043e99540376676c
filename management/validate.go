package management

import (
	"context"
	"net/url"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
)

// Limits on what management accepts. A request outside them is refused
// before anything is stored: InvalidArgument for a malformed or too long
// field or list, ResourceExhausted for a payload or record too large to
// store. They are sized so that every record, and every Commit management
// makes, fits the storage limits (storage/limits: 4 MiB less 64 KiB), and
// every response fits a 4 MiB gRPC message.
const (
	// MaxUserIDLen is the longest user id. User ids are printable ASCII
	// without spaces, as the authentication service issues them.
	MaxUserIDLen = 256
	// MaxNameLen is the longest function name, slot name or argument key.
	MaxNameLen = 256
	// MaxDescriptionLen is the longest function or slot description.
	MaxDescriptionLen = 4 << 10
	// MaxURLLen is the longest file URL (data: URLs included: larger
	// inline data belongs behind an https URL).
	MaxURLLen = 8 << 10
	// MaxPayloadSize is the largest function payload.
	MaxPayloadSize = 3<<20 + 512<<10
	// MaxDeclaredArguments is the most arguments a function declares.
	MaxDeclaredArguments = 64
	// MaxDefaultValueLen is the longest default value of an argument.
	MaxDefaultValueLen = 64 << 10
	// MaxSlots is the most inputs, and separately outputs, a function
	// declares.
	MaxSlots = 16
	// MaxOwners is the most owners of one file or slot.
	MaxOwners = 16
	// MaxAllowlist is the longest user allowlist of a function.
	MaxAllowlist = 256
	// MaxFunctionArgumentsSize bounds a task's function_arguments, as sent
	// and after defaults are merged in. It lets the arguments take nearly
	// the whole 4 MiB message (face detection passes a JPEG in them): the
	// rest is room for the task's other fields when it is staged.
	MaxFunctionArgumentsSize = 3<<20 + 512<<10
	// MaxFunctionRecordSize bounds a function record without its payload.
	MaxFunctionRecordSize = 256 << 10
	// MaxTaskRecordSize bounds a task record without its arguments: with
	// MaxFunctionArgumentsSize it keeps InvokeTask's Commit (task, staged
	// task, usage) within the storage limits.
	MaxTaskRecordSize = 192 << 10
	// MaxListedFunctions is the most ids ListFunctions returns per list.
	// The wire response has no paging, and 40 000 ids per list keep both
	// lists within one 4 MiB message; beyond it a list is cut (and the cut
	// logged). The store itself is read in pages, so registering never
	// breaks (Teaclave's one-record index did at about 90 000).
	MaxListedFunctions = 40_000
	// MaxDirectoryBatch is the most ids asked of the Directory at once.
	MaxDirectoryBatch = 1024
)

// callerOf returns the authenticated caller of ctx.
func callerOf(ctx context.Context) (teaclave.Caller, error) {
	c, ok := teaclave.CallerFrom(ctx)
	if !ok || c.ID == "" || !c.Role.Valid() {
		return teaclave.Caller{}, teaclave.Errorf(teaclave.KindUnauthenticated, "missing user id")
	}
	return c, nil
}

func invalid(format string, args ...any) error {
	return teaclave.Errorf(teaclave.KindInvalidArgument, format, args...)
}

func denied(why string) error {
	if why == "" {
		return teaclave.Errorf(teaclave.KindPermissionDenied, "permission denied")
	}
	return teaclave.Errorf(teaclave.KindPermissionDenied, "permission denied: %s", why)
}

func precondition(format string, args ...any) error {
	return teaclave.Errorf(teaclave.KindFailedPrecondition, format, args...)
}

func tooLarge(format string, args ...any) error {
	return teaclave.Errorf(teaclave.KindResourceExhausted, format, args...)
}

// checkUserID checks the form of a user id.
func checkUserID(what, id string) error {
	if id == "" {
		return invalid("invalid %s: empty user id", what)
	}
	if len(id) > MaxUserIDLen {
		return invalid("invalid %s: user id longer than %d bytes", what, MaxUserIDLen)
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return invalid("invalid %s: user ids are printable ASCII without spaces", what)
		}
	}
	return nil
}

// checkUsers checks the form of a list of user ids and returns them as a
// set (sorted, duplicates removed).
func checkUsers(what string, ids []string, maxLen int) ([]string, error) {
	if len(ids) > maxLen {
		return nil, invalid("invalid %s: more than %d users", what, maxLen)
	}
	for _, id := range ids {
		if err := checkUserID(what, id); err != nil {
			return nil, err
		}
	}
	return teaclave.UserSet(ids), nil
}

// checkUsersExist asks the Directory about ids (a set) and refuses unknown
// ones.
func (s *Service) checkUsersExist(ctx context.Context, what string, ids []string) error {
	for len(ids) > 0 {
		n := min(len(ids), MaxDirectoryBatch)
		batch := ids[:n]
		ids = ids[n:]
		exist, err := s.dir.UsersExist(ctx, batch)
		if err != nil {
			if k := teaclave.KindOf(err); k == teaclave.KindCanceled || k == teaclave.KindDeadlineExceeded {
				return err
			}
			s.logger.ErrorContext(ctx, "user directory failed", "error", err)
			return teaclave.Wrap(teaclave.KindUnavailable, "user directory unavailable", err)
		}
		if len(exist) != len(batch) {
			return teaclave.Errorf(teaclave.KindInternal, "service internal error")
		}
		for i, ok := range exist {
			if !ok {
				return invalid("invalid %s: user %q does not exist", what, batch[i])
			}
		}
	}
	return nil
}

// checkName checks a function name, slot name or argument key: non-empty
// UTF-8 without control characters, at most MaxNameLen bytes.
func checkName(what, s string) error {
	if s == "" {
		return invalid("invalid %s: empty", what)
	}
	if len(s) > MaxNameLen {
		return invalid("invalid %s: longer than %d bytes", what, MaxNameLen)
	}
	if !utf8.ValidString(s) {
		return invalid("invalid %s: not UTF-8", what)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return invalid("invalid %s: contains a control character", what)
		}
	}
	return nil
}

// checkText checks free text (descriptions, default values): UTF-8, at most
// maxLen bytes, no control characters but tab and newline.
func checkText(what, s string, maxLen int) error {
	if len(s) > maxLen {
		return invalid("invalid %s: longer than %d bytes", what, maxLen)
	}
	if !utf8.ValidString(s) {
		return invalid("invalid %s: not UTF-8", what)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
			return invalid("invalid %s: contains a control character", what)
		}
	}
	return nil
}

// checkURL checks a file URL a user registers. Allowed: http and https
// with a host, data URLs, and file URLs whose clean absolute path lies
// under a configured root. fusion URLs are the platform's own and are
// refused, as is any other scheme. The URL is stored as sent; the file
// agent enforces its own network and file-system policy when it fetches.
func (s *Service) checkURL(raw string) error {
	if raw == "" {
		return invalid("invalid url: empty")
	}
	if len(raw) > MaxURLLen {
		return invalid("invalid url: longer than %d bytes", MaxURLLen)
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] < 0x21 || raw[i] > 0x7e {
			return invalid("invalid url: only printable ASCII without spaces (percent-encode the rest)")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalid("invalid url: does not parse")
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Opaque != "" || u.Host == "" {
			return invalid("invalid url: %s URLs need a host", u.Scheme)
		}
		return nil
	case "data":
		if _, _, ok := strings.Cut(u.Opaque, ","); !ok || u.Opaque == "" {
			return invalid("invalid url: a data URL needs a comma before its data")
		}
		return nil
	case "file":
		return s.checkFileURL(u)
	case "fusion":
		return invalid("invalid url: fusion URLs are minted by the platform only")
	}
	return invalid("invalid url: scheme must be http, https, data or file")
}

func (s *Service) checkFileURL(u *url.URL) error {
	if len(s.cfg.FileRoots) == 0 {
		return invalid("invalid url: file URLs are not enabled on this platform")
	}
	if u.Opaque != "" || (u.Host != "" && u.Host != "localhost") || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return invalid("invalid url: a file URL is file:///<absolute path> only")
	}
	p := u.Path
	// Escapes could hide separators or dot segments from the checks below.
	if u.RawPath != "" || u.EscapedPath() != p || !path.IsAbs(p) || path.Clean(p) != p {
		return invalid("invalid url: a file URL's path must be absolute, clean and unescaped")
	}
	for _, root := range s.cfg.FileRoots {
		if strings.HasPrefix(p, root+"/") {
			return nil
		}
	}
	return invalid("invalid url: file URLs must point under a configured root")
}

// checkCrypto converts and validates crypto info; raw is accepted only
// where allowRaw says so.
func checkCrypto(info *commonpb.FileCryptoInfo, allowRaw bool, refusal string) (teaclave.FileCrypto, error) {
	if info == nil {
		return teaclave.FileCrypto{}, invalid("missing crypto_info")
	}
	c := teaclave.FileCrypto{Schema: teaclave.CryptoSchema(info.GetSchema()), Key: info.GetKey(), IV: info.GetIv()}
	if err := c.Validate(); err != nil {
		return teaclave.FileCrypto{}, err
	}
	if c.Schema == teaclave.SchemaRaw && !allowRaw {
		return teaclave.FileCrypto{}, invalid("invalid crypto info: %s", refusal)
	}
	return c.Canonical(), nil
}

// parseID parses an object id; what is Teaclave's name for it ("data id",
// "function id", "task id").
func parseID(text, prefix, what string) (teaclave.ID, error) {
	id, err := teaclave.ParseID(text, prefix)
	if err != nil {
		return teaclave.ID{}, invalid("invalid %s: want %s-<uuid>", what, prefix)
	}
	return id, nil
}
