package oauth2

import (
	"errors"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/apiclients"
)

// authenticateClient applies client_secret_basic, client_secret_post, or
// none for public clients. Repeated failures for one client id from one
// address are refused with 429 before the secret is even looked at.
func (h *Handler) authenticateClient(c echo.Context, form url.Values) (*apiclients.Client, error) {
	r := c.Request()
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 §2.3.1: both parts are form-urlencoded inside the header.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return nil, errInvalidClient(true)
		}
		if form.Has("client_secret") {
			return nil, errInvalidRequest("use one client authentication method, not both basic auth and client_secret")
		}
		if form.Has("client_id") && form.Get("client_id") != id {
			return nil, errInvalidRequest("client_id in the body differs from the one in the Authorization header")
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if id == "" {
		return nil, errInvalidClient(basic)
	}
	key := id + "|" + c.RealIP()
	if blocked, wait := h.limiter.blocked(key); blocked {
		return nil, errTooManyFailures(max(wait, 1))
	}
	client, err := h.d.Clients.Authenticate(r.Context(), id, secret)
	if errors.Is(err, apiclients.ErrInvalidClient) {
		h.limiter.fail(key)
		return nil, errInvalidClient(basic)
	}
	if err != nil {
		return nil, err
	}
	return client, nil
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
