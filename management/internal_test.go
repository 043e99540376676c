package management

import (
	"strings"
	"testing"
)

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "*", "user:alice", `message:"a b"`, "+a -b AND c OR NOT d", "ip:::1", "result:true", "date:1", `"x`} {
		f.Add(s)
	}
	rec := &auditRecord{IP: make([]byte, 16), User: "{ user: alice }", Message: "register_function", Result: true}
	f.Fuzz(func(t *testing.T, q string) {
		aq, err := parseQuery(q)
		if err != nil {
			return
		}
		if len(aq.clauses) > maxQueryClauses {
			t.Fatalf("%d clauses", len(aq.clauses))
		}
		aq.matches(rec)
		aq.matches(&auditRecord{IP: []byte{1}})
	})
}

func FuzzParseArguments(f *testing.F) {
	for _, s := range []string{"{}", `{"a":1}`, `{"a":1,"a":2}`, `[]`, `{"a":{"b":[1,2]}}`, `{"a":1}x`, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args, err := parseArguments(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(strings.TrimSpace(s), "{") {
			t.Fatalf("accepted %q", s)
		}
		for k, v := range args {
			if len(v) == 0 {
				t.Fatalf("empty value for %q", k)
			}
		}
	})
}

func FuzzCheckURL(f *testing.F) {
	s := &Service{cfg: Config{FileRoots: []string{"/srv/data"}}}
	for _, u := range []string{"https://h/x", "file:///srv/data/x", "file:///srv/data/../x", "data:,x", "fusion:///x"} {
		f.Add(u)
	}
	f.Fuzz(func(t *testing.T, u string) {
		if s.checkURL(u) != nil {
			return
		}
		lower := strings.ToLower(u)
		if strings.HasPrefix(lower, "fusion:") || strings.Contains(u, "..") && strings.HasPrefix(lower, "file:") {
			t.Fatalf("accepted %q", u)
		}
		if strings.HasPrefix(lower, "file:") && !strings.Contains(u, "/srv/data/") {
			t.Fatalf("accepted a file URL outside the root: %q", u)
		}
	})
}
