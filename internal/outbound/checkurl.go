package outbound

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// URLChecker validates a URL that oauthd will call later (a webhook's
// url), so the problem is a 422 when it is saved rather than a failed
// delivery later. The dialer checks again at every connection: DNS may
// change between the two.
type URLChecker struct {
	AllowPrivate bool
	// Lookup resolves host names (default: the system resolver, bounded
	// by two seconds).
	Lookup Lookup
}

// CheckURL returns a sentence saying what is wrong with raw, or "" when it
// may be called: absolute, https (http only when private addresses are
// allowed, i.e. in development), no credentials in it, and a host that is
// or resolves to public addresses only.
func (c URLChecker) CheckURL(ctx context.Context, raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil || raw == "":
		return "must be an absolute URL such as https://example.com/hooks"
	case u.Scheme != "https" && u.Scheme != "http", u.Opaque != "":
		return "must be an absolute https URL such as https://example.com/hooks"
	case u.Scheme == "http" && !c.AllowPrivate:
		return "must use https (plain http is only allowed in development, with OAUTHD_OUTBOUND_ALLOW_PRIVATE=true)"
	case u.Hostname() == "":
		return "must name a host"
	case u.User != nil:
		return "must not contain credentials (user:password@)"
	case len(raw) > 2048:
		return "must be at most 2048 characters"
	}
	if c.AllowPrivate {
		return ""
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); ip != nil {
		if why := nonPublic(ip); why != "" {
			return fmt.Sprintf("must not point at %s (%s is %s)", "a private network", host, why)
		}
		return ""
	}
	lower := strings.ToLower(strings.TrimSuffix(host, "."))
	if lower == "localhost" || strings.HasSuffix(lower, ".localhost") {
		return "must not point at a private network (" + host + " is a loopback name)"
	}
	lookup := c.Lookup
	if lookup == nil {
		lookup = systemLookup
	}
	ips, err := lookup(ctx, host)
	if err != nil || len(ips) == 0 {
		return "has a host that does not resolve (" + host + ")"
	}
	for _, ip := range ips {
		if why := nonPublic(ip); why != "" {
			return fmt.Sprintf("must not point at a private network (%s resolves to %s, %s)", host, ip, why)
		}
	}
	return ""
}

func systemLookup(ctx context.Context, host string) ([]net.IP, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, err
	}
	ips := make([]net.IP, len(addrs))
	for i, a := range addrs {
		ips[i] = a.IP
	}
	return ips, nil
}
