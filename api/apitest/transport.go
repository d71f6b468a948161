package apitest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"

	"golang.org/x/oauth2"
)

// checkingTransport sends requests on and checks every answer of the
// environment's server against openapi.yaml, as Do does: the HTTP clients
// of the /oauth tests (plain net/http, golang.org/x/oauth2 and the cookie
// browser of the pages) go through it, so no response of a test escapes
// the spec. Requests to other hosts pass through unchecked.
type checkingTransport struct {
	env  *Env
	next http.RoundTripper
}

// Transport is an http.RoundTripper on http.DefaultTransport that checks
// each response from this server against openapi.yaml, failing the test
// (without stopping it) on a mismatch.
func (e *Env) Transport() http.RoundTripper {
	return &checkingTransport{env: e, next: http.DefaultTransport}
}

// Client is an http.Client on Transport that returns redirects as they
// came, so they are checked as the server sent them.
func (e *Env) Client() *http.Client {
	return &http.Client{Transport: e.Transport(), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// OAuth2Context is ctx carrying Client for golang.org/x/oauth2
// (oauth2.HTTPClient): the library's token, refresh and device requests,
// and the API calls of the clients it builds, are checked too.
func (e *Env) OAuth2Context(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, e.Client())
}

// Browser is a cookie-keeping client on Transport, as a browser: it
// follows redirects within this server and stops at the first one that
// leaves it (a client's callback, which nothing serves), or after ten.
func (e *Env) Browser() *http.Client {
	jar, _ := cookiejar.New(nil) // never fails without options
	host := e.Server.Listener.Addr().String()
	return &http.Client{Transport: e.Transport(), Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != host || len(via) > 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

func (t *checkingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var sent []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		sent = b
		// A copy with the body read back in; the length stays as the
		// caller set it (0 with a body: sent chunked).
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(sent))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(sent)), nil }
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	got, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(got))
	if req.URL.Host == t.env.Server.Listener.Addr().String() {
		checkReq, err := http.NewRequestWithContext(context.Background(), req.Method, req.URL.String(), bytes.NewReader(sent))
		if err != nil {
			return nil, err
		}
		checkReq.Header = req.Header.Clone()
		res := &Response{Status: resp.StatusCode, Header: resp.Header, Body: got}
		if err := t.env.spec.check(checkReq, res); err != nil {
			t.env.t.Errorf("%s %s → %d does not match openapi.yaml: %v\nbody: %s", req.Method, req.URL.RequestURI(), res.Status, err, truncate(got))
		}
	}
	return resp, nil
}
