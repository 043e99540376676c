package management

import (
	"net/netip"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Audit queries take the part of tantivy's query-parser syntax that
// Teaclave's clients use (protocol §8.5):
//
//	term            a word or "a phrase" in the default field, message
//	field:term      field is user, message, result (true/false) or ip
//	+clause         the clause must match
//	-clause         the clause must not match (also NOT clause)
//	a AND b         both must match; a OR b, or just a b, either may
//	*               every entry (so does an empty query)
//
// Text is split into words at every character that is not a letter or a
// digit and lower-cased, so message:register_function matches the phrase
// "register function" and user:alice matches entries whose user text has
// the word alice. A query with only negative clauses matches every entry
// but those (tantivy matched none). Ranges, dates, fuzzy and regex terms
// are not supported and refused.
const (
	// MaxAuditQueryLen is the longest query.
	MaxAuditQueryLen = 1024
	// maxQueryClauses bounds the clauses of one query.
	maxQueryClauses = 32
)

type occur uint8

const (
	should occur = iota
	must
	mustNot
)

type clause struct {
	occur  occur
	field  string // "user", "message", "result", "ip"; "" for *
	words  []string
	result bool
	ip     [16]byte
	ipv4   bool
}

type auditQuery struct {
	clauses []clause
}

// words splits text into lower-cased words of letters and digits.
func words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// lexeme is one whitespace-separated piece of a query: an operator or a
// clause with its prefix, field and value.
type lexeme struct {
	prefix byte // '+', '-' or 0
	field  string
	value  string
	quoted bool
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

func lex(q string) ([]lexeme, error) {
	var out []lexeme
	i := 0
	for {
		for i < len(q) && isSpace(q[i]) {
			i++
		}
		if i == len(q) {
			return out, nil
		}
		var l lexeme
		if q[i] == '+' || q[i] == '-' {
			l.prefix = q[i]
			i++
		}
		// An optional field name: letters followed by ':'.
		j := i
		for j < len(q) && (q[j] >= 'a' && q[j] <= 'z' || q[j] >= 'A' && q[j] <= 'Z' || q[j] == '_') {
			j++
		}
		if j < len(q) && q[j] == ':' && j > i {
			l.field = q[i:j]
			i = j + 1
		}
		if i < len(q) && q[i] == '"' {
			end := strings.IndexByte(q[i+1:], '"')
			if end < 0 {
				return nil, invalid("invalid query: unclosed quote")
			}
			l.value, l.quoted = q[i+1:i+1+end], true
			i += end + 2
		} else {
			j := i
			for j < len(q) && !isSpace(q[j]) {
				if q[j] == '"' {
					return nil, invalid("invalid query: a quote inside a word")
				}
				j++
			}
			l.value = q[i:j]
			i = j
		}
		if l.value == "" {
			return nil, invalid("invalid query: empty term")
		}
		out = append(out, l)
	}
}

// parseQuery parses an audit query.
func parseQuery(q string) (*auditQuery, error) {
	if len(q) > MaxAuditQueryLen {
		return nil, invalid("invalid query: longer than %d bytes", MaxAuditQueryLen)
	}
	if !utf8.ValidString(q) {
		return nil, invalid("invalid query: not UTF-8")
	}
	lexemes, err := lex(q)
	if err != nil {
		return nil, err
	}
	aq := &auditQuery{}
	andNext, notNext := false, false
	for _, l := range lexemes {
		if l.prefix == 0 && l.field == "" && !l.quoted {
			switch l.value {
			case "AND":
				if len(aq.clauses) == 0 || andNext {
					return nil, invalid("invalid query: AND needs a clause on each side")
				}
				andNext = true
				if c := &aq.clauses[len(aq.clauses)-1]; c.occur == should {
					c.occur = must
				}
				continue
			case "OR":
				continue
			case "NOT":
				notNext = true
				continue
			}
		}
		if strings.ContainsAny(l.value, "()[]{}^~") && !l.quoted {
			return nil, invalid("invalid query: grouping, ranges, boosts and fuzzy terms are not supported")
		}
		c := clause{}
		switch {
		case l.prefix == '-' || notNext:
			c.occur = mustNot
		case l.prefix == '+' || andNext:
			c.occur = must
		}
		andNext, notNext = false, false
		if err := c.set(l); err != nil {
			return nil, err
		}
		aq.clauses = append(aq.clauses, c)
		if len(aq.clauses) > maxQueryClauses {
			return nil, invalid("invalid query: more than %d clauses", maxQueryClauses)
		}
	}
	if andNext || notNext {
		return nil, invalid("invalid query: an operator at the end")
	}
	return aq, nil
}

func (c *clause) set(l lexeme) error {
	if l.field == "" && l.value == "*" && !l.quoted {
		return nil
	}
	c.field = l.field
	if c.field == "" {
		c.field = "message"
	}
	switch c.field {
	case "user", "message":
		c.words = words(l.value)
		if len(c.words) == 0 {
			return invalid("invalid query: the term %q has no letters or digits", l.value)
		}
	case "result":
		switch strings.ToLower(l.value) {
		case "true":
			c.result = true
		case "false":
		default:
			return invalid("invalid query: result is true or false")
		}
	case "ip":
		a, err := netip.ParseAddr(l.value)
		if err != nil || a.Zone() != "" {
			return invalid("invalid query: ip needs an IPv4 or IPv6 address")
		}
		c.ip, c.ipv4 = a.As16(), a.Is4()
		if c.ipv4 {
			// The frontend records IPv4 peers in the IPv4-compatible form
			// ::a.b.c.d, as Teaclave does; match that.
			c.ip = [16]byte{}
			copy(c.ip[12:], a.AsSlice())
		}
	default:
		return invalid("invalid query: unknown or unsupported field %q (use user, message, result or ip)", c.field)
	}
	return nil
}

func containsPhrase(text, phrase []string) bool {
	for i := 0; i+len(phrase) <= len(text); i++ {
		if slices.Equal(text[i:i+len(phrase)], phrase) {
			return true
		}
	}
	return false
}

func (c *clause) matches(e *auditRecord) bool {
	switch c.field {
	case "":
		return true
	case "user":
		return containsPhrase(words(e.User), c.words)
	case "message":
		return containsPhrase(words(e.Message), c.words)
	case "result":
		return e.Result == c.result
	case "ip":
		if len(e.IP) != 16 {
			return false
		}
		var ip [16]byte
		copy(ip[:], e.IP)
		if ip == c.ip {
			return true
		}
		// Also match an IPv4 peer recorded in the IPv4-mapped form.
		mapped := netip.AddrFrom16(ip)
		return c.ipv4 && mapped.Is4In6() && [4]byte(c.ip[12:]) == mapped.Unmap().As4()
	}
	return false
}

// matches reports whether e satisfies the query.
func (q *auditQuery) matches(e *auditRecord) bool {
	anyShould, shouldMatched, hasMust := false, false, false
	for i := range q.clauses {
		c := &q.clauses[i]
		m := c.matches(e)
		switch c.occur {
		case must:
			hasMust = true
			if !m {
				return false
			}
		case mustNot:
			if m {
				return false
			}
		case should:
			anyShould = true
			shouldMatched = shouldMatched || m
		}
	}
	return hasMust || !anyShould || shouldMatched
}
