package oauth2

import (
	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/tenants"
)

// Visitor is a signed-in browser as other server-rendered pages (the
// console) see it: the user, and what the session's CSRF tokens are
// bound to. It is the one seam between those pages and the session, so a
// change to how sessions work stays in this package.
type Visitor struct {
	User   *tenants.User
	csrfID string
}

// PathSignIn is the sign-in page; ?return_to= names where to go after.
const PathSignIn = "/oauth/sign-in"

// PathSignOut is where the sign-out form posts.
const PathSignOut = "/oauth/sign-out"

// Visitor is the browser's signed-in user, nil when nobody is signed in
// (no session, a forged or expired one, or the user is gone).
func (h *Handler) Visitor(c echo.Context) (*Visitor, error) {
	s, u, ok, err := h.signedIn(c)
	if err != nil || !ok {
		return nil, err
	}
	return &Visitor{User: u, csrfID: sessionCSRFID(s)}, nil
}

// consolePurpose keeps other pages' tokens apart from this package's own
// forms: a token made for the console never approves a consent.
const consolePurpose = "console:"

// FormToken is the CSRF token of v's forms for purpose.
func (h *Handler) FormToken(v *Visitor, purpose string) string {
	return h.csrfToken(v.csrfID, consolePurpose+purpose)
}

// FormTokenValid checks a posted CSRF token made by FormToken.
func (h *Handler) FormTokenValid(v *Visitor, token, purpose string) bool {
	return h.csrfValid(token, v.csrfID, consolePurpose+purpose)
}

// SignOutToken is the CSRF token the sign-out form of v posts.
func (h *Handler) SignOutToken(v *Visitor) string {
	return h.csrfToken(v.csrfID, purposeSignOut)
}

// SafeReturnTo is path when it is a path on this server, else the
// sign-in page: what the sign-in form accepts as return_to.
func SafeReturnTo(path string) string { return safeReturnTo(path) }
