package fileagent

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// AddressPolicy decides which network addresses the agent may connect to.
// Task URLs come from users, so without it a task could make the platform
// reach what only the platform can reach: its own services, the host's
// loopback, the cloud's metadata service (169.254.169.254), the private
// network. Every address a connection is about to use is checked, after
// name resolution and at every redirect, so neither a name that resolves
// to such an address nor a redirect to one gets through.
type AddressPolicy struct {
	allow    map[string]bool // "host:port", lowercased, as a URL names it
	own      map[netip.AddrPort]bool
	ownPorts map[uint16]bool // ports of own wildcard listen addresses
	local    map[netip.Addr]bool
}

// NewAddressPolicy returns a policy that refuses special addresses
// (loopback, private, link-local, multicast, unspecified, shared and
// reserved ranges) and the platform's own listen addresses (own, as
// "host:port"; a wildcard host covers every address of this machine),
// except for the "host:port" pairs on allow. localAddrs are this
// machine's interface addresses; nil means none are known.
func NewAddressPolicy(allow, own []string, localAddrs []netip.Addr) (*AddressPolicy, error) {
	p := &AddressPolicy{allow: map[string]bool{}, own: map[netip.AddrPort]bool{}, ownPorts: map[uint16]bool{}, local: map[netip.Addr]bool{}}
	for _, a := range allow {
		key, err := normalizeHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("fileagent: allowlist entry %q: %w", a, err)
		}
		p.allow[key] = true
	}
	for _, a := range localAddrs {
		p.local[a.Unmap()] = true
	}
	for _, o := range own {
		ap, err := netip.ParseAddrPort(o)
		if err != nil {
			host, port, err2 := net.SplitHostPort(o)
			if err2 != nil || (host != "" && !strings.EqualFold(host, "localhost")) {
				return nil, fmt.Errorf("fileagent: own listen address %q: want ip:port, :port or localhost:port", o)
			}
			pp, err := netip.ParseAddrPort("0.0.0.0:" + port)
			if err != nil {
				return nil, fmt.Errorf("fileagent: own listen address %q: %w", o, err)
			}
			if host == "" {
				p.ownPorts[pp.Port()] = true
			} else {
				p.own[netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), pp.Port())] = true
				p.own[netip.AddrPortFrom(netip.IPv6Loopback(), pp.Port())] = true
			}
			continue
		}
		if ap.Addr().IsUnspecified() {
			p.ownPorts[ap.Port()] = true
			continue
		}
		p.own[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())] = true
	}
	return p, nil
}

// normalizeHostPort lowercases the host of "host:port" and drops a
// trailing dot, so that allowlist entries match what URLs name.
func normalizeHostPort(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", err
	}
	if host == "" || port == "" {
		return "", fmt.Errorf("want host:port")
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if a, err := netip.ParseAddr(host); err == nil {
		host = a.Unmap().String()
	}
	return net.JoinHostPort(host, port), nil
}

// Check reports whether a connection made for requested (the URL's
// "host:port") may go to resolved. It refuses with an error wrapping
// ErrAddressRefused.
func (p *AddressPolicy) Check(requested string, resolved netip.AddrPort) error {
	ip := resolved.Addr().Unmap()
	if key, err := normalizeHostPort(requested); err == nil && p.allow[key] {
		return nil
	}
	if p.allow[net.JoinHostPort(ip.String(), fmt.Sprint(resolved.Port()))] {
		return nil
	}
	if p.own[netip.AddrPortFrom(ip, resolved.Port())] || (p.ownPorts[resolved.Port()] && (p.local[ip] || ip.IsLoopback() || ip.IsUnspecified())) {
		return fmt.Errorf("%w: the platform's own address", ErrAddressRefused)
	}
	if why := specialAddress(ip); why != "" {
		return fmt.Errorf("%w: %s address", ErrAddressRefused, why)
	}
	return nil
}

var specialPrefixes = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this-network"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "protocol-assignment"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible"},
	{netip.MustParsePrefix("100::/64"), "discard"},
	{netip.MustParsePrefix("2001::/32"), "Teredo"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
}

// specialAddress names the kind of a non-public address, or returns "".
func specialAddress(ip netip.Addr) string {
	switch {
	case !ip.IsValid():
		return "invalid"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsPrivate():
		return "private"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	}
	for _, s := range specialPrefixes {
		if s.prefix.Contains(ip) {
			return s.why
		}
	}
	// Addresses that carry an IPv4 address to a translator: judge the
	// address they lead to.
	if ip.Is6() {
		b := ip.As16()
		var v4 [4]byte
		switch {
		case netip.MustParsePrefix("64:ff9b::/96").Contains(ip), netip.MustParsePrefix("64:ff9b:1::/48").Contains(ip):
			copy(v4[:], b[12:])
		case netip.MustParsePrefix("2002::/16").Contains(ip):
			copy(v4[:], b[2:6])
		default:
			return ""
		}
		if why := specialAddress(netip.AddrFrom4(v4)); why != "" {
			return why + " (translated)"
		}
	}
	return ""
}
