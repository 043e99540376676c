package frontend

import (
	"context"
	"net"
	"net/netip"

	"google.golang.org/grpc/peer"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc"
)

type credentialsKey struct{}

// credentialsValue is what a context carries: the credentials, or why the
// transport could not read them.
type credentialsValue struct {
	creds rpc.Credentials
	err   error
}

// WithCredentials returns a context whose frontend calls authenticate as
// the user with c's id and token: calls of *Service in process, and calls
// of *Client, which send them as Teaclave's id and token metadata.
func WithCredentials(ctx context.Context, c rpc.Credentials) context.Context {
	return context.WithValue(ctx, credentialsKey{}, credentialsValue{creds: c})
}

// CredentialsFrom returns the credentials set by WithCredentials.
func CredentialsFrom(ctx context.Context) (rpc.Credentials, bool) {
	v, ok := ctx.Value(credentialsKey{}).(credentialsValue)
	return v.creds, ok && v.err == nil
}

func credentialsOf(ctx context.Context) (rpc.Credentials, error) {
	v, ok := ctx.Value(credentialsKey{}).(credentialsValue)
	switch {
	case !ok:
		return rpc.Credentials{}, teaclave.Errorf(teaclave.KindUnauthenticated, "missing user id")
	case v.err != nil:
		return rpc.Credentials{}, v.err
	case v.creds.ID == "":
		return rpc.Credentials{}, teaclave.Errorf(teaclave.KindUnauthenticated, "missing user id")
	case v.creds.Token == "":
		return rpc.Credentials{}, teaclave.Errorf(teaclave.KindUnauthenticated, "missing token")
	}
	return v.creds, nil
}

type clientIPKey struct{}

// incoming prepares the context of a call that arrived over gRPC: the
// credentials from its id and token metadata (or why they are unusable)
// and the client's address. A role the client sent is never read.
func incoming(ctx context.Context) context.Context {
	creds, err := rpc.CredentialsFromIncoming(ctx)
	ctx = context.WithValue(ctx, credentialsKey{}, credentialsValue{creds: creds, err: err})
	if p, ok := peer.FromContext(ctx); ok {
		if a, ok := p.Addr.(*net.TCPAddr); ok {
			if ip, ok := netip.AddrFromSlice(a.IP); ok {
				ctx = context.WithValue(ctx, clientIPKey{}, ip.Unmap())
			}
		}
	}
	return ctx
}

// clientIP returns the address of the client of the call, or the zero
// address in process.
func clientIP(ctx context.Context) netip.Addr {
	ip, _ := ctx.Value(clientIPKey{}).(netip.Addr)
	return ip
}

// ipBytes renders an address as audit entries carry it: 16 bytes, an IPv4
// address in the IPv4-compatible form ::a.b.c.d as Teaclave wrote it, and
// :: when unknown.
func ipBytes(ip netip.Addr) []byte {
	out := make([]byte, 16)
	switch {
	case ip.Is4():
		a := ip.As4()
		copy(out[12:], a[:])
	case ip.Is6():
		a := ip.As16()
		copy(out, a[:])
	}
	return out
}
