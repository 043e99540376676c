// Package auth is Teaclave's authentication service: user accounts,
// logins and tokens.
//
// Users (id, role with attribute, argon2id password hash, token
// generation) live in a teaclave.Store of the service's own, which the
// caller seals, together with the HS512 token key, generated once, and the
// generation counter. A restart on the same store keeps users and valid
// tokens; revoked tokens stay revoked.
//
// Two endpoints, as in Teaclave (protocol §5):
//
//   - The api endpoint (RegisterAPI) serves Teaclave's
//     TeaclaveAuthenticationApi to clients: UserLogin returns a JWT, and
//     UserRegister, UserUpdate, UserChangePassword, ResetUserPassword,
//     DeleteUser and ListUsers authenticate the caller from metadata id and
//     token. It also serves the Bootstrap extension, which creates the first
//     PlatformAdmin of an empty database once.
//   - The internal endpoint (RegisterInternal) serves
//     TeaclaveAuthenticationInternal.UserAuthenticate to the frontend and
//     the UsersExist extension to management.
//
// In process the same operations are methods of *Service; the frontend and
// management see it through the Authenticator and Directory interfaces,
// which Client implements over gRPC.
//
// # Tokens
//
// A token is a compact JWS, HS512, header {"alg":"HS512","typ":"JWT"},
// with Teaclave's claims sub, role (claims form, e.g. "DataOwner-org1"),
// iss "Teaclave" and exp (24 h by default), plus nbf, iat and gen, the
// user's generation. Every user write that must end the user's sessions (a
// password change or reset, an update, which may change the role) gives
// the user a new generation from a counter that never goes back, so old
// tokens fail; deleting the user ends them too, and a user registered
// again under a deleted id never matches an old token.
// Service.UserAuthenticate lists what it refuses.
//
// # Passwords and logins
//
// Passwords are hashed with argon2id (PasswordParams; by default 19 MiB,
// 2 passes, 1 lane, 16-byte salt, 32-byte hash) and compared in constant
// time. A login for an unknown id verifies against a dummy hash, so it
// takes as long as one for a known id, and both fail with the same
// Unauthenticated "authentication failed". Failed logins are throttled per
// id (ThrottleConfig): slowed down, then locked.
//
// # Errors
//
// UNAUTHENTICATED means an authentication failure and nothing else (bad
// or missing credentials, wrong password). Other failures have their
// precise kind: InvalidArgument for malformed input (Teaclave's texts
// "invalid user id", "invalid role" begin the messages),
// PermissionDenied "permission denied", AlreadyExists "user id exist",
// NotFound, ResourceExhausted for a throttled login, FailedPrecondition for
// a second Bootstrap, Internal "service internal error" for store failures
// (the cause stays in process). No error or log line contains a password,
// token or key.
//
// # Builds
//
// Development builds (without the teaclave_production tag) seed admin with
// password teaclave into an empty database (Config.DevelopmentAdmin) and
// default to 127.0.0.1 addresses. Production builds never read an admin
// password from configuration: the first PlatformAdmin comes from
// Bootstrap; they refuse the development password for admin, and refuse to
// start if admin has it.
//
// # Use
//
//	s, err := auth.New(auth.Defaults(), auth.Deps{Store: sealedStore, Logger: logger})
//	if err != nil { ... }
//	if err := s.Start(ctx); err != nil { ... }
//	token, err := s.UserLogin(ctx, "admin", "teaclave") // development build
//	claims, err := s.UserAuthenticate(ctx, "admin", token)
//	ctx = teaclave.WithCaller(ctx, claims.Caller())
//	err = s.UserRegister(ctx, "alice", "secret", teaclave.NewRole("DataOwner", "org1"))
//
// Module and RemoteModule (fx.go) wire the service, or a client of a
// remote one, into an fx application.
package auth
