package accesscontrol

import (
	"context"

	"github.com/teaclave-go/teaclave"
)

// The API names the frontend asks about: its 22 RPCs in snake case
// (protocol §6).
const (
	APIRegisterInputFile       = "register_input_file"
	APIRegisterOutputFile      = "register_output_file"
	APIUpdateInputFile         = "update_input_file"
	APIUpdateOutputFile        = "update_output_file"
	APIRegisterFusionOutput    = "register_fusion_output"
	APIRegisterInputFromOutput = "register_input_from_output"
	APIGetOutputFile           = "get_output_file"
	APIGetInputFile            = "get_input_file"
	APIRegisterFunction        = "register_function"
	APIUpdateFunction          = "update_function"
	APIGetFunction             = "get_function"
	APIGetFunctionUsageStats   = "get_function_usage_stats"
	APIDeleteFunction          = "delete_function"
	APIDisableFunction         = "disable_function"
	APIListFunctions           = "list_functions"
	APICreateTask              = "create_task"
	APIGetTask                 = "get_task"
	APIAssignData              = "assign_data"
	APIApproveTask             = "approve_task"
	APIInvokeTask              = "invoke_task"
	APICancelTask              = "cancel_task"
	APIQueryAuditLogs          = "query_audit_logs"
)

const (
	// MaxNameLen bounds the role and API names Authorize accepts, in bytes.
	// Real names are a few dozen bytes; the bound only keeps a misbehaving
	// peer from making the service hold large strings.
	MaxNameLen = 256

	groupFunctionOwner = "rule_function_owner"
	groupDataOwner     = "rule_data_owner"
	superuser          = teaclave.RoleNamePlatformAdmin
)

// APIs returns every API name the frontend asks about, in the frontend's
// order.
func APIs() []string {
	return []string{
		APIRegisterInputFile, APIRegisterOutputFile, APIUpdateInputFile, APIUpdateOutputFile,
		APIRegisterFusionOutput, APIRegisterInputFromOutput, APIGetOutputFile, APIGetInputFile,
		APIRegisterFunction, APIUpdateFunction, APIGetFunction, APIGetFunctionUsageStats,
		APIDeleteFunction, APIDisableFunction, APIListFunctions, APICreateTask, APIGetTask,
		APIAssignData, APIApproveTask, APIInvokeTask, APICancelTask, APIQueryAuditLogs,
	}
}

// Policy is a compiled role → API policy with the semantics of Teaclave's
// casbin model: a role may call an API if one of its groups grants it, and
// the superuser role may call anything. A Policy is immutable and safe for
// concurrent use.
type Policy struct {
	// allowed maps a role name to the set of APIs its groups grant.
	allowed map[string]map[string]struct{}
}

// Rule is one line of a policy: group Group grants API.
type Rule struct {
	Group, API string
}

// Grouping is one role assignment: Role is a member of Group.
type Grouping struct {
	Role, Group string
}

// TeaclaveRules returns Teaclave's policy lines (its policy.csv, protocol
// §7), without this project's additions.
func TeaclaveRules() []Rule {
	fo := []string{APIRegisterFunction, APIUpdateFunction, APIDeleteFunction, APIDisableFunction,
		APIGetFunction, APIListFunctions, APIGetFunctionUsageStats}
	do := []string{APIRegisterInputFile, APIRegisterOutputFile, APIUpdateInputFile, APIUpdateOutputFile,
		APIRegisterFusionOutput, APIRegisterInputFromOutput, APIGetOutputFile, APIGetInputFile,
		APICreateTask, APIGetTask, APIAssignData, APIApproveTask, APIInvokeTask, APICancelTask,
		APIGetFunction, APIListFunctions, APIGetFunctionUsageStats}
	var rules []Rule
	for _, a := range fo {
		rules = append(rules, Rule{groupFunctionOwner, a})
	}
	for _, a := range do {
		rules = append(rules, Rule{groupDataOwner, a})
	}
	return rules
}

// AddedRules returns the rules this project adds to Teaclave's policy:
// FunctionOwner may approve and read the tasks it participates in
// (protocol §20 item 12; management checks the participation).
func AddedRules() []Rule {
	return []Rule{{groupFunctionOwner, APIApproveTask}, {groupFunctionOwner, APIGetTask}}
}

// Groupings returns Teaclave's role assignments.
func Groupings() []Grouping {
	return []Grouping{
		{teaclave.RoleNameFunctionOwner, groupFunctionOwner},
		{teaclave.RoleNameDataOwnerManager, groupDataOwner},
		{teaclave.RoleNameDataOwner, groupDataOwner},
	}
}

// NewPolicy compiles rules and groupings. Only roles named in a grouping
// (and the superuser, PlatformAdmin) are granted anything.
func NewPolicy(rules []Rule, groupings []Grouping) *Policy {
	byGroup := make(map[string][]string)
	for _, r := range rules {
		byGroup[r.Group] = append(byGroup[r.Group], r.API)
	}
	p := &Policy{allowed: make(map[string]map[string]struct{})}
	for _, g := range groupings {
		set := p.allowed[g.Role]
		if set == nil {
			set = make(map[string]struct{})
			p.allowed[g.Role] = set
		}
		for _, a := range byGroup[g.Group] {
			set[a] = struct{}{}
		}
	}
	return p
}

// DefaultPolicy returns the compiled-in policy: Teaclave's rules and
// groupings plus AddedRules.
func DefaultPolicy() *Policy {
	return NewPolicy(append(TeaclaveRules(), AddedRules()...), Groupings())
}

// Allows reports whether role may call api. Matching is exact and
// case-sensitive, as in casbin.
func (p *Policy) Allows(role, api string) bool {
	if role == superuser {
		return true
	}
	_, ok := p.allowed[role][api]
	return ok
}

// Authorizer decides whether a role may call an API. role is the role name
// as the policy knows it (teaclave.Role.Name(), the text of the claims role
// before its first '-'); api is the frontend RPC's snake-case name. A false
// result with a nil error is a denial; an error means no decision was made
// (bad input, or the remote service could not be asked), and callers must
// deny then too.
type Authorizer interface {
	Authorize(ctx context.Context, role, api string) (bool, error)
}
