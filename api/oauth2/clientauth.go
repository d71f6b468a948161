package oauth2

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/internal/metrics"
)

// authenticateClient applies client_secret_basic, client_secret_post, or
// none for public clients. Repeated failures for one client id from one
// address are refused with 429 before the secret is even looked at.
func (h *Handler) authenticateClient(c echo.Context, form url.Values) (*apiclients.Client, error) {
	r := c.Request()
	id, secret, basic, err := basicCredentials(r)
	if err != nil {
		return nil, err
	}
	if basic {
		if form.Has("client_secret") {
			return nil, errInvalidRequest("use one client authentication method, not both basic auth and client_secret")
		}
		if form.Has("client_id") && form.Get("client_id") != id {
			return nil, errInvalidRequest("client_id in the body differs from the one in the Authorization header")
		}
	} else {
		// readForm has already refused control characters and invalid UTF-8.
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if id == "" || !apiclients.PlausibleClientID(id) {
		// Names no client: the unknown-client answer at once, so that
		// arbitrary strings never become the limiter's keys.
		h.d.Metrics.AuthFailed(metrics.AuthClient)
		return nil, errInvalidClient(basic)
	}
	if secret == "" {
		// No secret, nothing to compare and nothing guessed: a public client, or
		// a confidential one that fails at once.
		return h.clientOrFailure(c, id, secret, basic)
	}
	ip := c.RealIP()
	ctx := r.Context()
	charges := h.charges(ip, "client|"+id+"|"+ip, clientAuthBudget)
	// A spent budget refuses even the right secret. The right secret,
	// when checking it costs no bcrypt (a digest, or a bcrypt hash this
	// instance verified before), reserves nothing: it only asks whether
	// the budgets have a failure left, which is answered from memory while
	// no failure was reserved anywhere (see budget.Watched). Anything else
	// reserves a failure before it is judged, and gets it back if right.
	if wait, err := h.d.Budgets.Check(ctx, charges); err != nil {
		return nil, err
	} else if wait > 0 {
		return nil, errTooManyFailures(waitSeconds(wait))
	}
	if client, ok, err := h.d.Clients.AuthenticateFast(ctx, id, secret); err != nil {
		return nil, err
	} else if ok {
		return client, nil
	}
	try, wait, err := h.reserveCharges(ctx, charges)
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		return nil, errTooManyFailures(wait)
	}
	client, err := h.clientOrFailure(c, id, secret, basic)
	if err != nil {
		return nil, err
	}
	if err := try.succeeded(r.Context()); err != nil {
		return nil, err
	}
	return client, nil
}

// clientOrFailure authenticates the client; every failure is
// invalid_client (and counted).
func (h *Handler) clientOrFailure(c echo.Context, id, secret string, basic bool) (*apiclients.Client, error) {
	client, err := h.d.Clients.Authenticate(c.Request().Context(), id, secret)
	if errors.Is(err, apiclients.ErrInvalidClient) {
		h.d.Metrics.AuthFailed(metrics.AuthClient)
		return nil, errInvalidClient(basic)
	}
	if err != nil {
		return nil, err
	}
	return client, nil
}

// basicCredentials reads client_secret_basic. basic is true when the
// Authorization header uses the Basic scheme; credentials that do not
// decode are invalid_client with the Basic challenge (RFC 6749 §5.2: the
// client tried the header, so it gets 401 and WWW-Authenticate).
func basicCredentials(r *http.Request) (id, secret string, basic bool, err error) {
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", "", false, nil
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		return "", "", true, errBadBasicAuth("the Authorization header is not base64 of client_id:client_secret")
	}
	// RFC 6749 §2.3.1: both parts are form-urlencoded inside the header.
	var err1, err2 error
	id, err1 = url.QueryUnescape(id)
	secret, err2 = url.QueryUnescape(secret)
	if err1 != nil || err2 != nil {
		return "", "", true, errBadBasicAuth("client_id and client_secret in the Authorization header must be form-urlencoded")
	}
	if !plainText(id) || !plainText(secret) {
		return "", "", true, errBadBasicAuth("client_id or client_secret in the Authorization header holds characters that are not allowed")
	}
	return id, secret, true, nil
}

// clientRequest reads a protocol request's form and authenticates the
// client that sent it.
func (h *Handler) clientRequest(c echo.Context) (url.Values, *apiclients.Client, error) {
	form, err := readForm(c.Request())
	if err != nil {
		return nil, nil, err
	}
	client, err := h.authenticateClient(c, form)
	if err != nil {
		return nil, nil, err
	}
	return form, client, nil
}
