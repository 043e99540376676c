// Package sdk is the Go client SDK of Teaclave for Go: it connects to a
// platform's two public endpoints, the authentication service's api
// endpoint and the frontend, verifying each one's remote attestation
// before sending a byte, and wraps their RPCs in plain Go types.
//
// A session has three steps:
//
//  1. Decide what to trust. LoadTrust (production: a pinned attestation
//     root, the auditor-signed enclave info and the auditors' public keys)
//     or TrustFromDataDir (the development platform's data folder) build a
//     Trust that checks the auditors' signatures over the enclave info
//     before it is used. InsecureSkipVerification turns verification off
//     for development against a platform whose trust files are not at hand;
//     it logs a warning at every Dial.
//  2. Dial and log in: Dial(ctx, Config{AuthAddr, FrontendAddr, Trust}),
//     then Client.Login, which keeps the token for every later call.
//  3. Work: register functions and files, create tasks, assign data,
//     approve, invoke and Wait for the result. The file helpers
//     (NewCryptoInfo, Encrypt, Decrypt, ComputeTag) produce the encrypted
//     files and the cmac the register calls need.
//
// Client.Auth (*auth.APIClient) and Client.Frontend (*frontend.Client) give
// the raw RPCs; Client.Context adds the logged-in user's credentials to a
// context for them. Errors the platform returns are *teaclave.Error values
// (use teaclave.KindOf); Wait returns a *TaskError for a task that failed or
// was canceled.
package sdk
