package oauth2

import (
	"crypto/hmac"
	"encoding/base64"
	"net/http"

	"github.com/labstack/echo/v4"
)

// Form purposes: a CSRF token is good only for the form it was made for.
const (
	purposeSignIn         = "sign-in"
	purposeSignOut        = "sign-out"
	purposeAuthorize      = "authorize"
	purposeDevice         = "device"
	purposeDeviceDecision = "device-decision"
)

// csrfToken is HMAC(session key, "csrf" + session or pre-session id +
// purpose). It needs no storage: whoever can read the browser's cookie
// jar's id and the key can make it, and a cross-site form can do neither.
func (h *Handler) csrfToken(id, purpose string) string {
	return base64.RawURLEncoding.EncodeToString(h.mac("csrf", []byte(id), []byte(purpose)))
}

func (h *Handler) csrfValid(token, id, purpose string) bool {
	got, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || token == "" || id == "" {
		return false
	}
	return hmac.Equal(got, h.mac("csrf", []byte(id), []byte(purpose)))
}

// sessionCSRFID is what a signed-in browser's tokens are bound to: its
// session id, new at every sign-in.
func sessionCSRFID(s session) string { return base64.RawURLEncoding.EncodeToString(s.ID[:]) }

// csrfFailed is the answer to a form post without a valid token.
func (h *Handler) csrfFailed(c echo.Context) error {
	return h.renderError(c, http.StatusForbidden, "This form has expired",
		"The form was not sent from this site, or it is too old. Go back, reload the page and try again.")
}
