package teaclave

import "context"

// Caller is the authenticated user on whose behalf a request runs. The
// frontend sets it from a verified token; services read it with CallerFrom
// and never from request fields or transport metadata.
type Caller struct {
	// ID is the user id.
	ID string
	// Role is the role from the user's verified token.
	Role Role
}

type callerKey struct{}

// WithCaller returns a context carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller carried by ctx, if any.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}
