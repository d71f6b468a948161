package oauth2

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

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
func errInvalidGrant(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, Code: "invalid_grant", Description: desc}
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
func errInvalidClient(basic bool) *oauthError {
	e := &oauthError{status: http.StatusUnauthorized, Code: "invalid_client", Description: "client authentication failed"}
	if basic {
		e.headers = map[string]string{"WWW-Authenticate": `Basic realm="oauthd"`}
	}
	return e
}

func errTooManyFailures(retryAfter int) *oauthError {
	return &oauthError{status: http.StatusTooManyRequests, Code: "invalid_client",
		Description: "too many failed client authentications; retry later",
		headers:     map[string]string{"Retry-After": strconv.Itoa(retryAfter)}}
}

// wantsForm reports whether the caller asked for a form-encoded answer
// (seed 003) rather than JSON.
func wantsForm(r *http.Request) bool {
	for _, a := range r.Header.Values("Accept") {
		if len(a) >= 33 && a[:33] == "application/x-www-form-urlencoded" {
			return true
		}
	}
	return false
}

// writeOAuthError answers with an RFC 6749 error; anything that is not one
// becomes server_error (logged) or, when the database is down,
// temporarily_unavailable.
func (h *Handler) writeOAuthError(c echo.Context, err error) error {
	var oe *oauthError
	if !errors.As(err, &oe) {
		if database.IsUnavailable(err) {
			oe = &oauthError{status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
				Description: "the database is unreachable; retry shortly", headers: map[string]string{"Retry-After": "1"}}
		} else {
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

// WriteTooLarge answers a request body over the server's limit on a
// protocol endpoint: 413 with an RFC 6749 invalid_request.
func WriteTooLarge(c echo.Context) error {
	return writeRFCError(c, errBodyTooLarge())
}

func errBodyTooLarge() *oauthError {
	return &oauthError{status: http.StatusRequestEntityTooLarge, Code: "invalid_request", Description: "the request body is too large"}
}
