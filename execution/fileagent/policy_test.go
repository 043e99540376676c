package fileagent_test

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave/execution/fileagent"
)

// These tests call the address policy on synthetic addresses: no traffic
// is ever sent to them.

func mustPolicy(t *testing.T, allow, own []string, local ...string) *fileagent.AddressPolicy {
	t.Helper()
	var addrs []netip.Addr
	for _, a := range local {
		addrs = append(addrs, netip.MustParseAddr(a))
	}
	p, err := fileagent.NewAddressPolicy(allow, own, addrs)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// check runs the policy as the dialer does: requested is the URL's
// host:port, resolved what the name resolved to.
func check(p *fileagent.AddressPolicy, requested, resolved string) error {
	return p.Check(requested, netip.MustParseAddrPort(resolved))
}

// TestPolicyRefusesSpecialAddresses: every non-public kind of address the
// issue names is refused, in IPv4, IPv6 and the IPv6 forms that carry an
// IPv4 address (mapped, compatible, NAT64, 6to4), whatever name led to
// it.
func TestPolicyRefusesSpecialAddresses(t *testing.T) {
	p := mustPolicy(t, nil, nil)
	for _, tc := range []struct{ addr, kind string }{
		// loopback
		{"127.0.0.1", "loopback"}, {"127.1.2.3", "loopback"}, {"::1", "loopback"},
		// private
		{"10.0.0.1", "private"}, {"10.255.255.255", "private"},
		{"172.16.0.1", "private"}, {"172.31.255.254", "private"},
		{"192.168.0.1", "private"}, {"192.168.255.255", "private"},
		{"fc00::1", "private"}, {"fd12:3456:789a::1", "private"},
		// link-local, the cloud metadata service included
		{"169.254.169.254", "link-local"}, {"169.254.0.1", "link-local"},
		{"fe80::1", "link-local"}, {"fe80::1%eth0", "link-local"}, {"febf::1", "link-local"},
		// multicast
		{"224.0.0.1", "multicast"}, {"239.255.255.250", "multicast"},
		{"ff02::1", "multicast"}, {"ff05::1:3", "multicast"}, {"ff01::1", "multicast"}, {"ff0e::1", "multicast"},
		// unspecified
		{"0.0.0.0", "unspecified"}, {"::", "unspecified"},
		// IPv4-mapped IPv6 forms of the above
		{"::ffff:127.0.0.1", "loopback"}, {"::ffff:10.1.2.3", "private"}, {"::ffff:172.20.0.1", "private"},
		{"::ffff:192.168.1.1", "private"}, {"::ffff:169.254.169.254", "link-local"},
		{"::ffff:224.0.0.251", "multicast"}, {"::ffff:0.0.0.0", "unspecified"},
		// other special ranges
		{"0.1.2.3", "this-network"}, {"100.64.0.1", "shared"}, {"192.0.0.8", "protocol-assignment"},
		{"192.0.2.1", "documentation"}, {"198.18.0.1", "benchmarking"}, {"240.0.0.1", "reserved"},
		{"255.255.255.255", "reserved"}, {"2001:db8::1", "documentation"}, {"fec0::1", "site-local"},
		{"::a9fe:a9fe", "IPv4-compatible"}, {"100::1", "discard"}, {"2001::1", "Teredo"},
		// translators: judged by the IPv4 address they lead to
		{"64:ff9b::a9fe:a9fe", "link-local (translated)"}, {"64:ff9b::7f00:1", "loopback (translated)"},
		{"64:ff9b:1::a00:1", "private (translated)"}, {"2002:a9fe:a9fe::1", "link-local (translated)"},
		{"2002:c0a8:101::1", "private (translated)"},
	} {
		for _, port := range []uint16{80, 443, 6789} {
			resolved := netip.AddrPortFrom(netip.MustParseAddr(tc.addr), port)
			err := p.Check(net.JoinHostPort("files.example.com", strconv.Itoa(int(port))), resolved)
			if !errors.Is(err, fileagent.ErrAddressRefused) {
				t.Errorf("%s: allowed (%v)", resolved, err)
				continue
			}
			if !strings.Contains(err.Error(), tc.kind) {
				t.Errorf("%s: %v, want a %s address", resolved, err, tc.kind)
			}
		}
	}
}

// TestPolicyAllowsPublicAddresses: the policy is not "refuse everything":
// public addresses, including their mapped and translated forms and the
// neighbours of the private ranges, pass.
func TestPolicyAllowsPublicAddresses(t *testing.T) {
	p := mustPolicy(t, nil, nil)
	for _, a := range []string{
		"8.8.8.8:443", "1.1.1.1:80", "93.184.216.34:8080", "11.0.0.1:80", "172.15.255.255:80",
		"172.32.0.1:80", "192.169.0.1:80", "169.253.255.255:80", "100.128.0.1:80", "223.255.255.255:80",
		"[2606:4700:4700::1111]:443", "[2a00:1450:4001::200e]:443", "[::ffff:8.8.8.8]:443",
		"[64:ff9b::808:808]:443", "[2002:808:808::1]:443",
	} {
		if err := check(p, "files.example.com:443", a); err != nil {
			t.Errorf("%s refused: %v", a, err)
		}
	}
}

// TestPolicyOwnListenAddresses: the platform's own listen addresses are
// refused even when public: a wildcard listener (":port") covers every
// address of this machine and loopback, a specific one only itself, in
// its IPv4-mapped form too.
func TestPolicyOwnListenAddresses(t *testing.T) {
	p := mustPolicy(t, nil, []string{":7776", "8.8.4.4:17776", "localhost:7777", "[2001:4860::1]:443"}, "8.8.8.8", "2001:4860:4860::8888")
	for _, tc := range []struct {
		resolved string
		refused  bool
	}{
		{"8.8.8.8:7776", true},                 // this machine's address, wildcard listener
		{"[2001:4860:4860::8888]:7776", true},  // its IPv6 address
		{"[::ffff:8.8.8.8]:7776", true},        // mapped
		{"127.0.0.1:7776", true},               // loopback (special anyway)
		{"8.8.8.8:443", false},                 // another port of this machine
		{"9.9.9.9:7776", false},                // another machine, same port
		{"8.8.4.4:17776", true},                // a specific listener
		{"[::ffff:8.8.4.4]:17776", true},       // in its mapped form
		{"8.8.4.4:17777", false},               // its neighbour
		{"[2001:4860::1]:443", true},           // an IPv6 listener
		{"[2001:4860::2]:443", false},          // not it
		{"127.0.0.1:7777", true},               // localhost listener
		{"[::1]:7777", true},                   // localhost listener, IPv6
		{"[2001:4860:4860::8888]:7777", false}, // localhost listens on loopback only
	} {
		err := check(p, "files.example.com:80", tc.resolved)
		switch {
		case tc.refused && !errors.Is(err, fileagent.ErrAddressRefused):
			t.Errorf("%s allowed", tc.resolved)
		case tc.refused && tc.resolved != "127.0.0.1:7776" && !strings.Contains(err.Error(), "own address"):
			t.Errorf("%s: %v, want the platform's own address", tc.resolved, err)
		case !tc.refused && err != nil:
			t.Errorf("%s refused: %v", tc.resolved, err)
		}
	}
}

// TestPolicyAllowlist: an allowlisted host:port (the development
// platform's 127.0.0.1:6789 and localhost:6789) passes, by the name the
// URL used or by the address it resolved to, and nothing else does: not
// another port of the same host, not another loopback address.
func TestPolicyAllowlist(t *testing.T) {
	p := mustPolicy(t, []string{"127.0.0.1:6789", "localhost:6789", "[fd00::7]:8443"}, []string{":6789"}, "10.0.0.2")
	for _, tc := range []struct {
		requested, resolved string
		ok                  bool
	}{
		{"localhost:6789", "127.0.0.1:6789", true},
		{"localhost:6789", "[::1]:6789", true},
		{"LocalHost.:6789", "127.0.0.1:6789", true}, // names compare without case or final dot
		{"127.0.0.1:6789", "127.0.0.1:6789", true},
		{"files.example.com:6789", "127.0.0.1:6789", true}, // the address itself is allowlisted
		{"[fd00::7]:8443", "[fd00::7]:8443", true},
		{"[::ffff:127.0.0.1]:6789", "[::ffff:127.0.0.1]:6789", true},
		{"localhost:6790", "127.0.0.1:6790", false},
		{"127.0.0.1:6790", "127.0.0.1:6790", false},
		{"127.0.0.2:6789", "127.0.0.2:6789", false},
		{"files.example.com:6789", "[::1]:6789", false}, // ::1 is not on the list, localhost is
		{"files.example.com:6789", "10.0.0.2:6789", false},
		{"[fd00::7]:8444", "[fd00::7]:8444", false},
	} {
		err := check(p, tc.requested, tc.resolved)
		if tc.ok != (err == nil) {
			t.Errorf("%s -> %s: %v, want allowed=%v", tc.requested, tc.resolved, err, tc.ok)
		}
	}
	if err := p.Check("files.example.com:80", netip.AddrPort{}); !errors.Is(err, fileagent.ErrAddressRefused) {
		t.Errorf("an invalid address is allowed: %v", err)
	}
}

// TestPolicyBadConfig: allowlist entries and listen addresses that do not
// parse are configuration errors, not silently ignored.
func TestPolicyBadConfig(t *testing.T) {
	for _, tc := range []struct{ allow, own []string }{
		{allow: []string{"localhost"}},
		{allow: []string{":6789"}},
		{allow: []string{"localhost:"}},
		{own: []string{"files.example.com:7776"}},
		{own: []string{"7776"}},
	} {
		if _, err := fileagent.NewAddressPolicy(tc.allow, tc.own, nil); err == nil {
			t.Errorf("allow %q own %q accepted", tc.allow, tc.own)
		}
	}
}
