package outbound

import (
	"net"
	"net/netip"
)

// nonPublic says why ip may not be called, or "" when it is public.
// IPv4 addresses embedded in IPv6 (::ffff:a.b.c.d, the NAT64 prefix
// 64:ff9b::/96, the deprecated ::a.b.c.d) are judged as the IPv4 address
// they reach.
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
}

var (
	nat64      = netip.MustParsePrefix("64:ff9b::/96")
	compatIPv4 = netip.MustParsePrefix("::/96")
)

func embeddedIPv4(a netip.Addr) netip.Addr {
	embeds := nat64.Contains(a) || compatIPv4.Contains(a)
	if !a.Is6() || !embeds || a.IsUnspecified() || a.IsLoopback() {
		return a
	}
	b := a.As16()
	return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
}
