package accesscontrol_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/accesscontrol"
)

// The expected decisions are written out here, independently of the
// package's tables, from protocol §7 and the FunctionOwner addition.
var (
	functionOwnerAPIs = []string{
		"register_function", "update_function", "delete_function", "disable_function",
		"get_function", "list_functions", "get_function_usage_stats",
		// Added by this project (§20 item 12).
		"approve_task", "get_task",
	}
	dataOwnerAPIs = []string{
		"register_input_file", "register_output_file", "update_input_file", "update_output_file",
		"register_fusion_output", "register_input_from_output", "get_output_file", "get_input_file",
		"create_task", "get_task", "assign_data", "approve_task", "invoke_task", "cancel_task",
		"get_function", "list_functions", "get_function_usage_stats",
	}
	frontendAPIs = []string{
		"register_input_file", "register_output_file", "update_input_file", "update_output_file",
		"register_fusion_output", "register_input_from_output", "get_output_file", "get_input_file",
		"register_function", "update_function", "get_function", "get_function_usage_stats",
		"delete_function", "disable_function", "list_functions", "create_task", "get_task",
		"assign_data", "approve_task", "invoke_task", "cancel_task", "query_audit_logs",
	}
	// Names outside the policy: PlatformAdmin may call them, nobody else.
	unknownAPIs = []string{"Arbitrary_api", "", "Get_task", "get_task ", "user_register", "get_tasks"}
)

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// expected is the reference decision for role × api.
func expected(role, api string) bool {
	switch role {
	case "PlatformAdmin":
		return true
	case "FunctionOwner":
		return contains(functionOwnerAPIs, api)
	case "DataOwner", "DataOwnerManager":
		return contains(dataOwnerAPIs, api)
	}
	return false
}

var testRoles = []string{
	"PlatformAdmin", "FunctionOwner", "DataOwnerManager", "DataOwner",
	// Denied: Invalid, the empty role, other cases, the claims form with an
	// attribute, group names, padded names.
	"Invalid", "", "platformadmin", "PLATFORMADMIN", "DataOwner-org1", "DataOwnerManager-org1",
	"PlatformAdmin-x", "rule_data_owner", "rule_function_owner", " PlatformAdmin", "PlatformAdmin ",
}

func TestAPIsListsTheFrontendsRPCs(t *testing.T) {
	got := accesscontrol.APIs()
	if strings.Join(got, ",") != strings.Join(frontendAPIs, ",") {
		t.Fatalf("APIs() = %v, want %v", got, frontendAPIs)
	}
}

// TestDecisionTable is the role × operation × outcome table: every frontend
// API and every policy rule, for every role and for names that must be
// denied.
func TestDecisionTable(t *testing.T) {
	s, err := accesscontrol.New(accesscontrol.Defaults(), accesscontrol.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	apis := append(append([]string{}, frontendAPIs...), unknownAPIs...)
	granted := map[string]int{}
	for _, role := range testRoles {
		for _, api := range apis {
			t.Run(fmt.Sprintf("%q/%q", role, api), func(t *testing.T) {
				got, err := s.Authorize(ctx, role, api)
				if err != nil {
					t.Fatalf("Authorize: %v", err)
				}
				if want := expected(role, api); got != want {
					t.Fatalf("Authorize(%q, %q) = %v, want %v", role, api, got, want)
				}
				if got {
					granted[role]++
				}
			})
		}
	}
	// Counts per role, as §7's summary states them (plus the 2 additions).
	want := map[string]int{"PlatformAdmin": len(apis), "FunctionOwner": 9, "DataOwner": 17, "DataOwnerManager": 17}
	for role, n := range want {
		if granted[role] != n {
			t.Errorf("%s granted %d apis, want %d", role, granted[role], n)
		}
	}
	for _, role := range testRoles {
		if _, ok := want[role]; !ok && granted[role] != 0 {
			t.Errorf("%q granted %d apis, want none", role, granted[role])
		}
	}
}

// TestRoleNames checks the policy matches teaclave.Role.Name(), which is
// what the frontend sends.
func TestRoleNames(t *testing.T) {
	s, _ := accesscontrol.New(accesscontrol.Defaults(), accesscontrol.Deps{})
	ctx := context.Background()
	cases := []struct {
		claims string
		api    string
		want   bool
	}{
		{"PlatformAdmin", "query_audit_logs", true},
		{"FunctionOwner", "approve_task", true},
		{"FunctionOwner", "invoke_task", false},
		{"DataOwnerManager-org1", "create_task", true},
		{"DataOwner-", "assign_data", true},
		{"DataOwner-org1", "register_function", false},
		{"Invalid", "get_task", false},
		{"garbage", "get_task", false},
	}
	for _, c := range cases {
		role := teaclave.ParseRole(c.claims)
		got, err := s.Authorize(ctx, role.Name(), c.api)
		if err != nil || got != c.want {
			t.Errorf("Authorize(%q.Name()=%q, %q) = %v, %v; want %v", c.claims, role.Name(), c.api, got, err, c.want)
		}
	}
}

func TestOverlongNamesAreInvalidArgument(t *testing.T) {
	s, _ := accesscontrol.New(accesscontrol.Defaults(), accesscontrol.Deps{})
	long := strings.Repeat("a", accesscontrol.MaxNameLen+1)
	for _, c := range [][2]string{{long, "get_task"}, {"PlatformAdmin", long}} {
		ok, err := s.Authorize(context.Background(), c[0], c[1])
		if ok || teaclave.KindOf(err) != teaclave.KindInvalidArgument {
			t.Errorf("Authorize(len %d, len %d) = %v, %v; want false, InvalidArgument", len(c[0]), len(c[1]), ok, err)
		}
	}
	// At the limit it is a decision, not an error.
	edge := strings.Repeat("a", accesscontrol.MaxNameLen)
	if ok, err := s.Authorize(context.Background(), "PlatformAdmin", edge); !ok || err != nil {
		t.Errorf("Authorize(PlatformAdmin, %d bytes) = %v, %v; want true", len(edge), ok, err)
	}
}

// TestTeaclaveConcurrency is Teaclave's access_control_service.rs
// test_concurrency (§19.2) with its checks actually made: 10 goroutines
// each run the three checks 100 times.
func TestTeaclaveConcurrency(t *testing.T) {
	s, _ := accesscontrol.New(accesscontrol.Defaults(), accesscontrol.Deps{})
	runConcurrency(t, s)
}

func runConcurrency(t *testing.T, a accesscontrol.Authorizer) {
	t.Helper()
	checks := []struct {
		role, api string
		want      bool
	}{
		{"PlatformAdmin", "Arbitrary_api", true},
		{"DataOwner", "get_function", true},
		{"FunctionOwner", "invoke_task", false},
	}
	errs := make(chan error, 10)
	for g := 0; g < 10; g++ {
		go func() {
			for i := 0; i < 100; i++ {
				for _, c := range checks {
					got, err := a.Authorize(context.Background(), c.role, c.api)
					if err != nil || got != c.want {
						errs <- fmt.Errorf("Authorize(%q, %q) = %v, %v; want %v", c.role, c.api, got, err, c.want)
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 10; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func BenchmarkAuthorize(b *testing.B) {
	s, _ := accesscontrol.New(accesscontrol.Defaults(), accesscontrol.Deps{})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _ := s.Authorize(ctx, "DataOwner", "approve_task"); !ok {
				b.Fatal("denied")
			}
		}
	})
}
