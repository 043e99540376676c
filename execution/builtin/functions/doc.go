// Package functions holds Teaclave's built-in functions in Go: password
// check, ordered set intersect and join, private join and compute, RSA
// sign, online decrypt, logistic regression train and predict, GBDT
// train and predict, principal components analysis and face detection
// (SeetaFace's funnel-structured cascade, package seetaface) (functions.md
// §2). The
// builtin executor (package execution/builtin) dispatches to them by the
// registered function's name; All returns a fresh list of them.
//
// Each function reproduces what Teaclave's clients depend on: the
// registered name (two use underscores), the argument keys and their JSON
// types, the input and output names, the file formats, the summary string,
// and Teaclave's error texts where Teaclave had them. Where Teaclave's
// output bytes are exact, these are too: logistic regression follows
// rulinalg's 8-way unrolled dot product and sums, GBDT training ports
// gbdt-rs's tree building and GBDT prediction its tree walk, both in
// float32, and numbers are printed the way Rust printed them.
// PCA uses gonum's SVD and agrees with Teaclave's output to about 1e-15.
//
// Every function honours its context: long loops check ctx.Err() and
// return it unwrapped. Every input is read through a bound
// (Limits.MaxInputBytes), and numeric tables are capped in columns and in
// rows × columns before they are allocated, so a hostile input gets a
// clear error, never an unbounded allocation. Where Teaclave panicked on
// bad input (an empty password file, a short nonce, alpha ≤ 0, a malformed
// model) these functions return an error instead; the compatibility
// notes in docs/ list every difference from Teaclave.
//
// Log lines go to Runtime.Logger("teaclave_function::<module>"), so a task
// with save_log records "[INFO teaclave_function::<module>] <message>".
// They carry counts only, never data, keys or results.
package functions
