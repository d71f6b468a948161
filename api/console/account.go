package console

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/authserver"
	"github.com/oauthd/oauthd/internal/listing"
	"github.com/oauthd/oauthd/tenants"
)

// maxKeysShown bounds the API keys the account page lists.
const maxKeysShown = 100

type accountData struct {
	page
	Keys           []tenants.APIKey
	KeyName        string
	Authorizations []authserver.Authorization
	HasPassword    bool
}

// Account is GET /console/account: my API keys, my password, and the
// applications I have authorized (Cloud 66's Authorized applications).
func (h *Handler) Account(c echo.Context) error {
	return h.showAccount(c, http.StatusOK, accountData{})
}

func (h *Handler) showAccount(c echo.Context, status int, d accountData) error {
	ctx := c.Request().Context()
	u := visitOf(c).user()
	keys, err := h.d.Tenants.APIKeys(ctx, u.ID, listing.Params{Number: 1, Size: maxKeysShown, Sort: []listing.Sort{{Field: "created_at", Desc: true}}})
	if err != nil {
		return h.fail(c, err)
	}
	auths, err := h.d.Grants.Authorizations(ctx, u.ID)
	if err != nil {
		return h.fail(c, err)
	}
	errs := d.Errors
	d.page = h.base(c, "Your account", "")
	d.Errors = errs
	d.Keys, d.Authorizations, d.HasPassword = keys.Items, auths, u.PasswordHash != nil
	return h.render(c, status, "account.html", d)
}

type apiKeyCreatedData struct {
	page
	Key   *tenants.APIKey
	Plain string
}

// CreateAPIKey is POST /console/account/api-keys: the key is shown on
// this answer only; only its digest is kept.
func (h *Handler) CreateAPIKey(c echo.Context) error {
	name := visitOf(c).form.Get("name")
	k, plain, err := h.d.Tenants.CreateAPIKey(c.Request().Context(), visitOf(c).acting(), visitOf(c).user().ID, name)
	if errs, ok := formProblems(err, "name"); ok {
		d := accountData{KeyName: name}
		d.Errors = errs
		return h.showAccount(c, statusOf(err), d)
	}
	if err != nil {
		return h.fail(c, err)
	}
	return h.render(c, http.StatusCreated, "apikey_created.html", apiKeyCreatedData{page: h.base(c, "API key created", ""), Key: k, Plain: plain})
}

// DeleteAPIKey is POST /console/account/api-keys/{kid}/delete.
func (h *Handler) DeleteAPIKey(c echo.Context) error {
	id, ok := pathUUID(c, "kid")
	if !ok {
		return h.notFound(c)
	}
	if err := h.d.Tenants.DeleteAPIKey(c.Request().Context(), visitOf(c).user().ID, id); err != nil {
		return h.fail(c, err)
	}
	return done(c, PathAccount, "key-deleted")
}

// ChangePassword is POST /console/account/password.
func (h *Handler) ChangePassword(c echo.Context) error {
	f := visitOf(c).form
	if f.Get("password") != f.Get("password_again") {
		d := accountData{}
		d.Errors = fieldErrors{Fields: map[string][]string{"password_again": {"The two new passwords differ."}}}
		return h.showAccount(c, http.StatusUnprocessableEntity, d)
	}
	err := h.d.Tenants.ChangePassword(c.Request().Context(), visitOf(c).user().ID, f.Get("current_password"), f.Get("password"))
	if errs, ok := formProblems(err, "current_password", "password"); ok {
		d := accountData{}
		d.Errors = errs
		return h.showAccount(c, statusOf(err), d)
	}
	if err != nil {
		return h.fail(c, err)
	}
	return done(c, PathAccount, "password")
}

// RevokeAuthorization is POST /console/account/applications/{tid}/{cid}/revoke:
// the application's tokens and refresh chains from my approvals end at once.
func (h *Handler) RevokeAuthorization(c echo.Context) error {
	tid, ok1 := pathUUID(c, "tid")
	cid, ok2 := pathUUID(c, "cid")
	if !ok1 || !ok2 {
		return h.notFound(c)
	}
	if err := h.d.Grants.RevokeAuthorization(c.Request().Context(), visitOf(c).user().ID, tid, cid); err != nil {
		return h.fail(c, err)
	}
	return done(c, PathAccount, "grant-revoked")
}
