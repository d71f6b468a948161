package oauth2

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/audit"
	"github.com/oauthd/oauthd/connections"
	"github.com/oauthd/oauthd/internal/fault"
)

// The connection pages: /connect/<capability> (a connection's
// authorize_url) sends the browser to the provider, and /connect/callback
// takes the provider's answer. They need no oauthd sign-in: the link is
// the capability. Neither posts a form, so there is no CSRF token; the
// answer is bound to the browser that opened the link by a cookie instead.

// Connections is what the pages ask of the connections service.
type Connections interface {
	Begin(ctx context.Context, capability, browserNonce string) (string, error)
	Complete(ctx context.Context, cb connections.Callback) (*connections.Connection, error)
}

// connectCookieTTL covers the dance: the link, then the provider's answer.
const connectCookieTTL = 20 * time.Minute

func (h *Handler) connectCookieName() string { return h.cookiePrefix() + "oauthd_connect" }

// browserNonce is the browser's connect cookie, set when it has none. One
// value serves every dance the browser runs, so two links opened side by
// side both complete.
func (h *Handler) browserNonce(c echo.Context) string {
	if ck, err := c.Cookie(h.connectCookieName()); err == nil && len(ck.Value) >= 32 && len(ck.Value) <= 64 {
		return ck.Value
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	nonce := base64.RawURLEncoding.EncodeToString(b)
	c.SetCookie(&http.Cookie{Name: h.connectCookieName(), Value: nonce, Path: "/", HttpOnly: true,
		Secure: h.secureCookies(), MaxAge: int(connectCookieTTL.Seconds()),
		// Lax: the provider sends the browser back by a top-level GET from
		// its own site, which a Strict cookie would miss.
		SameSite: http.SameSiteLaxMode})
	return nonce
}

// withPageActor attaches what the audit trail knows of an anonymous page
// visitor: the address and the request id.
func withPageActor(c echo.Context) context.Context {
	return audit.WithActor(c.Request().Context(), audit.Actor{RemoteAddr: c.RealIP(),
		RequestID: c.Response().Header().Get(echo.HeaderXRequestID)})
}

// ConnectStart is GET /connect/:capability.
func (h *Handler) ConnectStart(c echo.Context) error {
	try, done := h.reserveConnect(c)
	if try == nil {
		return done
	}
	nonce := h.browserNonce(c)
	target, err := h.d.Connections.Begin(withPageActor(c), c.Param("capability"), nonce)
	if refundErr := try.settle(c, err); refundErr != nil {
		return h.pageError(c, refundErr)
	}
	if err != nil {
		return h.connectError(c, err)
	}
	pageHeaders(c, "")
	return c.Redirect(http.StatusFound, target)
}

// reserveConnect spends one failure of the address's connect budget (and
// its budget for failures of any kind) before the connection is looked
// up: links and states are 256-bit secrets, so this is not about guessing
// them but about what an address may make oauthd do with bad or replayed
// ones. A nil attempt means the page has been answered (429, or an error).
func (h *Handler) reserveConnect(c echo.Context) (*connectAttempt, error) {
	ip := c.RealIP()
	try, wait, err := h.reserve(c.Request().Context(), ip, "connect|"+ip, connectBudget)
	if err != nil {
		return nil, h.pageError(c, err)
	}
	if wait > 0 {
		c.Response().Header().Set("Retry-After", itoa(wait))
		return nil, h.renderError(c, http.StatusTooManyRequests, "Too many attempts",
			"Too many connection links or answers from your address were not valid. Wait a minute and try again.")
	}
	return &connectAttempt{try}, nil
}

// connectAttempt is a reserved failure of a /connect page.
type connectAttempt struct{ *attempt }

// settle keeps the failure spent when the link or the state was bad,
// replayed, expired or brought to another browser, and gives it back
// otherwise (the dance went on, whatever the provider said).
func (a *connectAttempt) settle(c echo.Context, outcome error) error {
	if errors.Is(outcome, connections.ErrLinkInvalid) || errors.Is(outcome, connections.ErrStateInvalid) ||
		errors.Is(outcome, connections.ErrWrongBrowser) {
		return nil
	}
	return a.succeeded(c.Request().Context())
}

type connectedPage struct {
	basePage
	Name      string
	Connected bool
	Detail    string
}

// ConnectCallback is GET /connect/callback: the provider's answer.
func (h *Handler) ConnectCallback(c echo.Context) error {
	q := c.QueryParams()
	cb := connections.Callback{State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error"),
		ErrorDescription: q.Get("error_description")}
	if ck, err := c.Cookie(h.connectCookieName()); err == nil {
		cb.BrowserNonce = ck.Value
	}
	try, done := h.reserveConnect(c)
	if try == nil {
		return done
	}
	conn, err := h.d.Connections.Complete(withPageActor(c), cb)
	if refundErr := try.settle(c, err); refundErr != nil {
		return h.pageError(c, refundErr)
	}
	if err != nil {
		return h.connectError(c, err)
	}
	page := connectedPage{basePage: basePage{Title: "Account connected"}, Name: conn.Name, Connected: conn.ErrorCode == nil}
	status := http.StatusOK
	if !page.Connected {
		page.Title, page.Detail = "Account not connected", *conn.ErrorCode
		if conn.ErrorDetail != nil {
			page.Detail = *conn.ErrorDetail
		}
	}
	return h.render(c, status, "connected.html", page)
}

// connectError answers a dance that cannot go on with a page that says why.
func (h *Handler) connectError(c echo.Context, err error) error {
	var p *fault.Problem
	if !errors.As(err, &p) {
		return h.pageError(c, err)
	}
	switch {
	case errors.Is(err, connections.ErrLinkInvalid):
		return h.renderError(c, http.StatusNotFound, "Link not valid", p.Detail)
	case errors.Is(err, connections.ErrStateInvalid):
		return h.renderError(c, http.StatusBadRequest, "Connection not in progress", p.Detail)
	case errors.Is(err, connections.ErrWrongBrowser):
		return h.renderError(c, http.StatusForbidden, "Different browser", p.Detail)
	}
	return h.renderError(c, http.StatusConflict, "Cannot connect now", p.Detail)
}
