// Package outbound is the one HTTP client oauthd uses to call the outside
// world (OAuth providers, webhook receivers). Every such call is a request
// a tenant can aim, so the client refuses to be turned against oauthd's own
// network (SSRF): it connects only to public addresses, checked on the
// address actually dialled after DNS resolution (so a name that resolves,
// or later re-resolves, to 127.0.0.1 or the cloud metadata address is
// refused). It never follows redirects (a redirect could point anywhere,
// and a provider's token endpoint has no reason to send one), ignores proxy
// settings from the environment, bounds the connection and the whole call
// in time, and cuts responses at a size limit.
package outbound

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// Options configure a client; zero values take the defaults.
type Options struct {
	// AllowPrivate lifts the address rule (OAUTHD_OUTBOUND_ALLOW_PRIVATE,
	// set by `oauthd dev` and tests whose receivers listen on loopback).
	AllowPrivate bool
	// ConnectTimeout bounds establishing a connection (default 5 s).
	ConnectTimeout time.Duration
	// Timeout bounds a whole call, reading the response included (default 30 s).
	Timeout time.Duration
	// MaxResponseBytes cuts a response body longer than this (default 1 MiB):
	// reading past it fails with ErrResponseTooLarge.
	MaxResponseBytes int64
}

func (o *Options) withDefaults() {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 1 << 20
	}
}

// ErrResponseTooLarge is returned by a response body read past the limit.
var ErrResponseTooLarge = errors.New("outbound: response body exceeds the size limit")

// ErrForbiddenAddress is returned when the dialled address is not public.
var ErrForbiddenAddress = errors.New("outbound: address not allowed")

// NewClient returns the outbound client. Use it for every call that leaves
// oauthd (pass it to golang.org/x/oauth2 through its context key).
func NewClient(o Options) *http.Client {
	o.withDefaults()
	dialer := &net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second}
	if !o.AllowPrivate {
		dialer.Control = refuseNonPublic
	}
	transport := &http.Transport{
		Proxy:                 nil, // never HTTP(S)_PROXY from the environment
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   o.ConnectTimeout,
		ResponseHeaderTimeout: o.Timeout,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   10,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: limitBodies{next: transport, max: o.MaxResponseBytes},
		Timeout:   o.Timeout,
		// The redirect response itself is returned to the caller.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// refuseNonPublic is the dialer's Control hook: it runs after resolution,
// for each address actually dialled.
func refuseNonPublic(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
	}
	if why := nonPublic(ip); why != "" {
		return fmt.Errorf("%w: %s is %s", ErrForbiddenAddress, host, why)
	}
	return nil
}

// limitBodies cuts every response body at max bytes.
type limitBodies struct {
	next http.RoundTripper
	max  int64
}

func (l limitBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > l.max {
		_ = resp.Body.Close()
		return nil, fmt.Errorf("%w (%d bytes announced, limit %d)", ErrResponseTooLarge, resp.ContentLength, l.max)
	}
	resp.Body = &limitedBody{rc: resp.Body, left: l.max}
	return resp, nil
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, ErrResponseTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// ReadBody reads a response body up to the client's limit, for callers
// that want all of it (a token response, a receiver's reply).
func ReadBody(resp *http.Response) ([]byte, error) {
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return b, fmt.Errorf("read response: %w", err)
	}
	return b, nil
}

// Lookup resolves a host name; tests replace it.
type Lookup func(ctx context.Context, host string) ([]net.IP, error)
