// Package frontend is Teaclave's frontend service, the platform's client
// API (TeaclaveFrontend, port 7777). For each of its 22 RPCs it
//
//  1. reads the user's id and token (gRPC metadata, or WithCredentials in
//     process) and authenticates them through the Authenticator;
//     every authentication failure is UNAUTHENTICATED, as Teaclave's
//     clients expect, and a short positive cache (Config.AuthCacheTTL, at
//     most 10 s) spares the authentication service repeated checks;
//  2. asks the Authorizer whether the user's role may call the API, by
//     Teaclave's snake_case API names (the API* constants);
//  3. forwards the unchanged request to management with the authenticated
//     teaclave.Caller; a role the client sent is never read;
//  4. records an audit entry (user, API, outcome, client address), saved
//     through management by a background agent.
//
// Management validates requests and checks ownership; the frontend checks
// only who the caller is and what their role may call.
//
// Use it in process,
//
//	fe, err := frontend.New(frontend.Config{}.Defaults(), frontend.Deps{Authenticator: a, Authorizer: z, Management: m})
//	err = fe.Start(ctx) // the audit agent
//	ctx = frontend.WithCredentials(ctx, rpc.Credentials{ID: "alice", Token: token})
//	resp, err := fe.CreateTask(ctx, req)
//
// serve it with Register on an API endpoint of the attested transport, or
// call a remote frontend with NewClient: Client and Service implement the
// same API, which makes frontend.NewClient the heart of the Go SDK.
// Module and RemoteModule (fx.go) do either in an fx graph.
//
// # Audit entries
//
// Entries follow Teaclave's form (protocol §6.1): user is
// "{ user: <id>, role: <role> }" (empty when authentication failed),
// message is "<api>" on success, "<api>:status: <Code>, message: \"…\""
// when management refused, "authenticate to <api>: <reason>" when
// authentication failed and "authorize <api>: permission denied" when the
// policy refused (Teaclave wrote that one without a user), and ip is the
// client's address in 16 bytes (IPv4 in the IPv4-compatible form
// ::a.b.c.d, :: in process). Entries are saved every
// Config.AuditFlushInterval and kept until saved; a full buffer makes
// calls wait rather than go unrecorded.
package frontend
