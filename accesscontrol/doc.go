// Package accesscontrol is Teaclave's access control service: it decides
// whether a role may call a frontend API. The frontend asks it for every
// request, with the role name from the caller's verified token (the text of
// the claims role before its first '-', teaclave.Role.Name()) and the API
// name in snake case (for example "create_task"); ownership and
// participation are management's business, not this package's.
//
// The policy is compiled in: Teaclave's casbin model and policy
// (protocol §7) plus approve_task and get_task for FunctionOwner, so that
// the owner of a private function can approve the tasks it participates in
// (protocol §20 item 12):
//
//   - PlatformAdmin may call every API, including names the policy does not
//     list.
//   - FunctionOwner may call the function APIs (register, update, delete,
//     disable, get and list functions, usage statistics) and approve_task
//     and get_task.
//   - DataOwnerManager and DataOwner may call the data and task APIs and
//     get_function, list_functions and get_function_usage_stats.
//   - Anything else is denied, including role names in another case and
//     the claims form with an attribute ("DataOwner-org1").
//
// # Why not casbin at run time
//
// github.com/casbin/casbin/v2 is the reference implementation of that
// policy. The service does not link it: the model is fixed
// (`g(r.sub, p.sub) && r.act == p.act || r.sub == "PlatformAdmin"` with
// one level of grouping), so its decisions reduce to a set lookup, and
// leaving casbin out keeps an expression evaluator and a policy-text parser
// out of the enclave's trusted code. policy_casbin_test.go shows the two
// agree: it loads Teaclave's model.conf and policy.csv (with the two added
// rules) into casbin v2.135.0 and compares every decision over every role
// and API name, and a fuzz target compares arbitrary strings. The one
// deliberate difference: casbin's role manager links every name to itself,
// so casbin would grant a subject literally named "rule_data_owner" that
// group's acts; group names are not roles, and this package denies them.
//
// # Use
//
// In process, New returns a Service, which is an Authorizer:
//
//	acs, err := accesscontrol.New(accesscontrol.Defaults(), accesscontrol.Deps{Logger: logger})
//	ok, err := acs.Authorize(ctx, caller.Role.Name(), accesscontrol.APICreateTask)
//
// Over gRPC, NewServer serves TeaclaveAccessControl.AuthorizeApi and
// NewClient is an Authorizer over a connection to it. Module and
// RemoteModule (fx.go) wire either into an fx application. The endpoint
// accepts only the frontend; that is the attested transport's inbound list,
// not this package's concern.
package accesscontrol
