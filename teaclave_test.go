package teaclave_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave"
)

func TestParseIDStrict(t *testing.T) {
	const u = "00000000-0000-0000-0000-000000000001"
	id, err := teaclave.ParseID("function-"+u, teaclave.PrefixFunction)
	if err != nil {
		t.Fatal(err)
	}
	if id.String() != "function-"+u || id.Prefix() != "function" || id.UUID().String() != u {
		t.Errorf("parsed %q", id)
	}
	bad := map[string]string{
		"prefix that only starts with the expected one": "functionx-" + u,
		"other prefix":             "task-" + u,
		"no separator":             "function" + u,
		"empty uuid":               "function-",
		"simple uuid form":         "function-00000000000000000000000000000001",
		"upper case":               "function-" + strings.ToUpper("0000000a-0000-0000-0000-000000000001"),
		"braced":                   "function-{" + u + "}",
		"urn":                      "function-urn:uuid:" + u,
		"trailing":                 "function-" + u + "x",
		"empty":                    "",
		"long":                     "function-" + strings.Repeat("a", 100),
		"uuid with embedded space": "function-00000000-0000-0000-0000 000000000001",
	}
	for name, text := range bad {
		if _, err := teaclave.ParseID(text, teaclave.PrefixFunction); !errors.Is(err, teaclave.ErrInvalidArgument) {
			t.Errorf("%s (%q): err = %v, want InvalidArgument", name, text, err)
		}
	}
}

func TestNewIDRoundTrip(t *testing.T) {
	for _, p := range []string{teaclave.PrefixTask, teaclave.PrefixInput, teaclave.PrefixOutput} {
		id := teaclave.NewID(p)
		back, err := teaclave.ParseID(id.String(), p)
		if err != nil || back != id {
			t.Errorf("%s: %v %v", id, back, err)
		}
		var viaText teaclave.ID
		if err := viaText.UnmarshalText([]byte(id.String())); err != nil || viaText != id {
			t.Errorf("UnmarshalText(%s) = %v, %v", id, viaText, err)
		}
		if id.UUID().Version() != 4 {
			t.Errorf("new ids are random (v4), got v%d", id.UUID().Version())
		}
	}
	if a, b := teaclave.NewID("task"), teaclave.NewID("task"); a == b {
		t.Error("two new ids are equal")
	}
}

func TestUserIndexIDIsUUIDv5(t *testing.T) {
	// UUIDv5(NAMESPACE_DNS, "admin"), computed independently.
	const want = "user-bace0701-15e3-5144-97c5-47487d543032"
	got := teaclave.UserIndexID("admin")
	if got.UUID().Version() != 5 {
		t.Fatalf("version %d", got.UUID().Version())
	}
	if got != teaclave.UserIndexID("admin") || got == teaclave.UserIndexID("admin2") {
		t.Error("not deterministic per user")
	}
	if got.String() != want {
		t.Errorf("UserIndexID(admin) = %s, want %s", got, want)
	}
}

func TestRoles(t *testing.T) {
	cases := []struct {
		claims string
		want   teaclave.Role
	}{
		{"PlatformAdmin", teaclave.Role{Kind: teaclave.RolePlatformAdmin}},
		{"FunctionOwner", teaclave.Role{Kind: teaclave.RoleFunctionOwner}},
		{"DataOwnerManager-org1", teaclave.Role{Kind: teaclave.RoleDataOwnerManager, Attribute: "org1"}},
		{"DataOwner-org1", teaclave.Role{Kind: teaclave.RoleDataOwner, Attribute: "org1"}},
		{"DataOwner-", teaclave.Role{Kind: teaclave.RoleDataOwner}},
		{"DataOwner-a-b", teaclave.Role{Kind: teaclave.RoleDataOwner, Attribute: "a-b"}},
	}
	for _, c := range cases {
		got := teaclave.ParseRole(c.claims)
		if got != c.want {
			t.Errorf("ParseRole(%q) = %+v, want %+v", c.claims, got, c.want)
		}
		if got.String() != c.claims {
			t.Errorf("String() = %q, want %q", got.String(), c.claims)
		}
		if back := teaclave.NewRole(got.Name(), got.Attribute); back != got {
			t.Errorf("NewRole(%q,%q) = %+v", got.Name(), got.Attribute, back)
		}
	}
	for _, s := range []string{"", "Invalid", "platformadmin", "PlatformAdmin-x", "DataOwner", "DataOwnerManager", "Admin"} {
		if r := teaclave.ParseRole(s); r.Valid() || r.String() != "Invalid" || r.Name() != "Invalid" {
			t.Errorf("ParseRole(%q) = %+v (%s)", s, r, r)
		}
	}
	if r := teaclave.NewRole("PlatformAdmin", "ignored"); r.Attribute != "" || r.String() != "PlatformAdmin" {
		t.Errorf("attribute kept on admin: %+v", r)
	}
	if r := teaclave.NewRole("Root", "x"); r.Valid() {
		t.Errorf("unknown registration role valid: %+v", r)
	}
}

func TestCallerContext(t *testing.T) {
	if _, ok := teaclave.CallerFrom(context.Background()); ok {
		t.Error("caller in empty context")
	}
	c := teaclave.Caller{ID: "u", Role: teaclave.ParseRole("DataOwner-x")}
	got, ok := teaclave.CallerFrom(teaclave.WithCaller(context.Background(), c))
	if !ok || got != c {
		t.Errorf("got %+v %v", got, ok)
	}
}

func TestErrorKinds(t *testing.T) {
	cause := errors.New("disk on fire")
	err := fmt.Errorf("loading task: %w", teaclave.Wrap(teaclave.KindNotFound, "task not found", cause))
	if !errors.Is(err, teaclave.ErrNotFound) {
		t.Error("errors.Is(kind sentinel) failed through wrapping")
	}
	if errors.Is(err, teaclave.ErrInvalidArgument) {
		t.Error("matched another kind")
	}
	if !errors.Is(err, cause) {
		t.Error("cause not reachable")
	}
	if teaclave.KindOf(err) != teaclave.KindNotFound {
		t.Errorf("KindOf = %v", teaclave.KindOf(err))
	}
	var te *teaclave.Error
	if !errors.As(err, &te) || te.Error() != "task not found" {
		t.Errorf("Error() = %q: the cause must not be rendered", te.Error())
	}
	e := teaclave.Errorf(teaclave.KindInvalidArgument, "bad %s: %w", "id", cause)
	if e.Error() != "bad id: disk on fire" || !errors.Is(e, cause) {
		t.Errorf("Errorf with %%w: %q", e.Error())
	}
	if !errors.Is(e, &teaclave.Error{Kind: teaclave.KindInvalidArgument, Msg: "bad id: disk on fire"}) ||
		errors.Is(e, &teaclave.Error{Kind: teaclave.KindInvalidArgument, Msg: "other"}) {
		t.Error("message-specific matching")
	}
	if teaclave.KindOf(nil) != teaclave.KindUnknown || teaclave.KindOf(cause) != teaclave.KindUnknown {
		t.Error("KindOf of plain errors")
	}
	if teaclave.KindOf(fmt.Errorf("x: %w", context.Canceled)) != teaclave.KindCanceled ||
		teaclave.KindOf(context.DeadlineExceeded) != teaclave.KindDeadlineExceeded {
		t.Error("context kinds")
	}
	if (&teaclave.Error{Kind: teaclave.KindNotFound}).Error() != "not found" {
		t.Error("empty message renders the kind")
	}
}
