// Package management is Teaclave's management service: it validates and
// persists functions, data files, tasks and the audit log, checks
// ownership and participation, and stages invoked tasks for the
// scheduler. The frontend calls it for every client request, after
// authenticating the user and asking access control; management never
// calls access control itself.
//
// Use it in process,
//
//	svc, err := management.New(management.Config{}.Defaults(), management.Deps{Store: store, Directory: dir})
//	resp, err := svc.CreateTask(teaclave.WithCaller(ctx, caller), req)
//
// or remotely through NewClient on a connection pinned to the management
// service's attested identity; Module and RemoteModule (fx.go) do either
// in an fx graph. Both implement API.
//
// # Records and commits
//
// Records are those of package teaclave (records.go). Every change is one
// storage Commit guarded by the versions of the records it was decided on,
// and redone from fresh reads when another call got there first (bounded
// by Config.CommitAttempts, then Aborted). So concurrent AssignData and
// ApproveTask calls by different participants all land (Teaclave lost
// updates), and InvokeTask moves the task to Staged, enqueues its
// teaclave.StagedTask on the "staged-task" queue and counts the use in one
// Commit: a task is staged once however many invocations race. Task
// statuses change only through teaclave.Transition.
//
// A task is bound to the revision of its function it was created against.
// Changing what the function runs (UpdateFunction of its name, executor
// type, payload, arguments or slots), disabling or deleting it makes the
// task's approvals and invocation impossible (FailedPrecondition): no
// approval ever covers code its giver did not see. The creator cancels such
// a task and creates a new one.
//
// # Errors
//
// Errors are *teaclave.Error values with the precise kind
// (InvalidArgument for malformed requests, NotFound for unknown ids,
// PermissionDenied for ownership and participation, FailedPrecondition for
// illegal state transitions, ResourceExhausted for quotas and sizes,
// Aborted after too many commit conflicts, Unavailable when the store or
// directory is down). Messages begin with Teaclave's text where it had one
// ("invalid task", "invalid data id", "permission denied") and never
// contain key material.
//
// The limits on requests are the Max* constants; the audit query syntax is
// described at MaxAuditQueryLen. Deliberate differences from Teaclave are
// listed in docs/compatibility-management.md.
package management
