package sdk

import (
	"context"
	"net/netip"
	"time"

	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// AuditEntry is one entry of the platform's audit log.
type AuditEntry struct {
	Time time.Time
	// IP is the client address the call came from (invalid if unknown).
	// IPv4 addresses, which the platform records in the IPv4-compatible
	// IPv6 form, are returned as IPv4.
	IP netip.Addr
	// User is the platform's display of the caller's claims, such as
	// "{ user: alice, role: PlatformAdmin }"; empty when authentication
	// failed.
	User string
	// Message names the call and, for a failure, the error.
	Message string
	// Success is whether the audited call succeeded.
	Success bool
}

// QueryAuditLogs returns up to limit audit entries matching query (the
// platform's query syntax; "" matches everything). Only PlatformAdmins may
// read the audit log.
func (c *Client) QueryAuditLogs(ctx context.Context, query string, limit uint64) ([]AuditEntry, error) {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := c.Frontend.QueryAuditLogs(ctx, &frontendpb.QueryAuditLogsRequest{Query: query, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]AuditEntry, 0, len(resp.GetLogs()))
	for _, e := range resp.GetLogs() {
		ip, _ := netip.AddrFromSlice(e.GetIp())
		ip = unmapCompatible(ip.Unmap())
		out = append(out, AuditEntry{
			Time: time.UnixMicro(e.GetMicrosecond()), IP: ip.Unmap(), User: e.GetUser(), Message: e.GetMessage(), Success: e.GetResult(),
		})
	}
	return out, nil
}

// unmapCompatible turns an IPv4-compatible IPv6 address (::a.b.c.d) into
// IPv4, leaving :: and ::1 alone.
func unmapCompatible(ip netip.Addr) netip.Addr {
	if !ip.Is6() || ip.IsUnspecified() || ip.IsLoopback() {
		return ip
	}
	b := ip.As16()
	for _, x := range b[:12] {
		if x != 0 {
			return ip
		}
	}
	return netip.AddrFrom4([4]byte(b[12:]))
}
