package oauth2

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/authserver"
	"github.com/oauthd/oauthd/internal/database"
)

// oauthError is an RFC 6749 §5.2 error response.
type oauthError struct {
	status      int
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	headers     map[string]string
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func errInvalidRequest(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, Code: "invalid_request", Description: desc}
}
func errInvalidScope(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, Code: "invalid_scope", Description: desc}
}
func errUnauthorizedClient(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, Code: "unauthorized_client", Description: desc}
}
func errUnsupportedGrantType(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, Code: "unsupported_grant_type", Description: desc}
}

// errInvalidClient is 401; with basic auth the challenge names the scheme.
// It says no more than which parameters were wrong: an unknown client_id
// and a wrong secret look alike.
func errInvalidClient(basic bool) *oauthError {
	e := &oauthError{status: http.StatusUnauthorized, Code: "invalid_client",
		Description: "client authentication failed: unknown client_id, or a wrong or missing client_secret"}
	if basic {
		e.headers = map[string]string{"WWW-Authenticate": `Basic realm="oauthd"`}
	}
	return e
}

// errBadBasicAuth is invalid_client for an Authorization header that does
// not hold Basic credentials at all.
func errBadBasicAuth(desc string) *oauthError {
	e := errInvalidClient(true)
	e.Description = desc
	return e
}

// errMethodNotAllowed is a protocol endpoint's answer to any method but
// POST (RFC 6749 §3.2: the token endpoint is POST only).
func errMethodNotAllowed(method, allow string) *oauthError {
	return &oauthError{status: http.StatusMethodNotAllowed, Code: "invalid_request",
		Description: "method " + printable(method) + " is not allowed here; use POST",
		headers:     map[string]string{"Allow": allow}}
}

func errTooManyFailures(retryAfter int) *oauthError {
	return &oauthError{status: http.StatusTooManyRequests, Code: "invalid_client",
		Description: "too many failed client authentications; retry later",
		headers:     map[string]string{"Retry-After": strconv.Itoa(retryAfter)}}
}

// wantsForm reports whether the caller asked for a form-encoded answer
// (Cloud 66's authentication docs) rather than JSON: only when its Accept header prefers
// application/x-www-form-urlencoded to application/json (see preferred).
func wantsForm(r *http.Request) bool {
	ranges := parseAccept(r.Header.Values("Accept"))
	return preferred(ranges, "application/x-www-form-urlencoded", "application/json")
}

// grantErrors are the grant layer's outcomes as RFC 6749 §5.2 and RFC 8628
// §3.5 answers: the one place they are named.
var grantErrors = []struct {
	err         error
	code, about string
}{
	{authserver.ErrInvalidGrant, "invalid_grant", "the code, refresh token or device code is invalid, expired, revoked, " +
		"already used, or was issued for another client, redirect URI or PKCE verifier (a reused refresh token revokes its whole grant)"},
	{authserver.ErrInvalidScope, "invalid_scope", "a refresh may only narrow the scope that was granted"},
	{authserver.ErrAuthorizationPending, "authorization_pending", ""},
	{authserver.ErrSlowDown, "slow_down", ""},
	{authserver.ErrExpiredToken, "expired_token", ""},
	{authserver.ErrAccessDenied, "access_denied", ""},
}

// grantError is err's RFC answer, or nil when err is none of the grant
// layer's outcomes.
func grantError(err error) *oauthError {
	for _, g := range grantErrors {
		if errors.Is(err, g.err) {
			return &oauthError{status: http.StatusBadRequest, Code: g.code, Description: g.about}
		}
	}
	return nil
}

// writeOAuthError answers with an RFC 6749 error; anything that is not one
// becomes server_error (logged) or, when the database is down or a
// statement was still deadlocked after its retries (busy, not broken),
// temporarily_unavailable with Retry-After.
func (h *Handler) writeOAuthError(c echo.Context, err error) error {
	var oe *oauthError
	if !errors.As(err, &oe) {
		oe = grantError(err)
	}
	if oe == nil {
		switch {
		case database.IsUnavailable(err):
			h.d.Log.Warn("database_unavailable", "path", c.Path(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err)
			oe = &oauthError{status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
				Description: "the database is unreachable; retry shortly", headers: map[string]string{"Retry-After": "1"}}
		case database.IsContention(err):
			h.d.Log.Warn("database_busy", "path", c.Path(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err)
			oe = &oauthError{status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
				Description: "concurrent requests kept colliding; retry shortly", headers: map[string]string{"Retry-After": "1"}}
		default:
			h.d.Log.Error("oauth endpoint error", "path", c.Path(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err)
			oe = &oauthError{status: http.StatusInternalServerError, Code: "server_error", Description: "something went wrong on our side"}
		}
	}
	return writeRFCError(c, oe)
}

// writeRFCError writes oe as JSON, or form-encoded when asked for.
func writeRFCError(c echo.Context, oe *oauthError) error {
	for k, v := range oe.headers {
		c.Response().Header().Set(k, v)
	}
	noStore(c)
	if wantsForm(c.Request()) {
		v := url.Values{"error": {oe.Code}}
		if oe.Description != "" {
			v.Set("error_description", oe.Description)
		}
		return c.Blob(oe.status, "application/x-www-form-urlencoded", []byte(v.Encode()))
	}
	b, _ := json.Marshal(oe)
	return c.Blob(oe.status, "application/json", b)
}

func noStore(c echo.Context) {
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Pragma", "no-cache")
}

// ProtocolEndpoint reports whether a POST to path is one of the RFC
// endpoints, whose every error — even one raised before the endpoint ran,
// such as the server-wide body limit — must be an RFC 6749 error, not a
// JSON:API document.
func ProtocolEndpoint(path string) bool {
	switch strings.TrimSuffix(path, "/") {
	case "/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/device_authorization":
		return true
	}
	return false
}

// ProtocolMethods is middleware that answers a protocol endpoint called
// with any method but POST (or OPTIONS, which Echo answers with Allow) with
// 405 as an RFC 6749 error, not the JSON:API document other routes give.
// It runs after routing: c.Path() is the endpoint's route even when the
// method has none.
func ProtocolMethods(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		m := c.Request().Method
		if m == http.MethodPost || m == http.MethodOptions || !ProtocolEndpoint(c.Path()) {
			return next(c)
		}
		allow, _ := c.Get(echo.ContextKeyHeaderAllow).(string)
		if allow == "" {
			allow = "OPTIONS, POST"
		}
		return writeRFCError(c, errMethodNotAllowed(m, allow))
	}
}

// WriteTooLarge answers a request body over the server's limit on a
// protocol endpoint: 413 with an RFC 6749 invalid_request.
func WriteTooLarge(c echo.Context) error {
	return writeRFCError(c, errBodyTooLarge())
}

func errBodyTooLarge() *oauthError {
	return &oauthError{status: http.StatusRequestEntityTooLarge, Code: "invalid_request", Description: "the request body is too large"}
}
