package outbound

import (
	"net"
	"net/netip"
)

// nonPublic says why ip may not be called, or "" when it is public.
// IPv4 addresses embedded in IPv6 (::ffff:a.b.c.d, the IPv4-translated
// ::ffff:0:a.b.c.d, the NAT64 prefix 64:ff9b::/96, 6to4's 2002:AABB:CCDD::/48,
// the deprecated ::a.b.c.d) are judged as the IPv4 address they reach; the
// local-use NAT64 prefix (64:ff9b:1::/48, a network's own translator) and
// Teredo (2001::/32, a tunnel to an IPv4 host) are refused whole.
func nonPublic(ip net.IP) string {
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return "not an IP address"
	}
	addr = embeddedIPv4(addr.Unmap())
	switch {
	case addr.IsUnspecified():
		return "the unspecified address"
	case addr.IsLoopback():
		return "a loopback address"
	case addr.IsPrivate():
		return "a private address"
	case addr.IsLinkLocalUnicast():
		if addr == metadataAddress {
			return "the cloud metadata address (link-local)"
		}
		return "a link-local address"
	case addr.IsMulticast(), addr.IsLinkLocalMulticast(), addr.IsInterfaceLocalMulticast():
		return "a multicast address"
	}
	for _, r := range reserved {
		if r.prefix.Contains(addr) {
			return r.why
		}
	}
	return ""
}

var metadataAddress = netip.MustParseAddr("169.254.169.254")

var reserved = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), `a "this network" address`},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (carrier-grade NAT) address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local-use NAT64 address"},
	{netip.MustParsePrefix("2001::/32"), "a Teredo tunnel address"},
	{netip.MustParsePrefix("100::/64"), "a discard-only address"},
}

var (
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	compatIPv4     = netip.MustParsePrefix("::/96")
	translatedIPv4 = netip.MustParsePrefix("::ffff:0:0:0/96")
	sixToFour      = netip.MustParsePrefix("2002::/16")
)

func embeddedIPv4(a netip.Addr) netip.Addr {
	if !a.Is6() || a.IsUnspecified() || a.IsLoopback() {
		return a
	}
	b := a.As16()
	switch {
	case nat64.Contains(a), compatIPv4.Contains(a), translatedIPv4.Contains(a):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
	}
	return a
}
