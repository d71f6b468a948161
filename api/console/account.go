package console

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/authserver"
	"github.com/oauthd/oauthd/internal/budget"
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

// passwordBudget is the wrong current passwords one user may send from
// the password form: with a stolen session, the form must not be a way to
// guess the password (which signs in on its own and lasts longer than the
// session). Each attempt also spends from its address's budget of
// failures of any kind, which sign-in failures share.
var passwordBudget = budget.Limit{Burst: 10, Window: time.Minute}

// ChangePassword is POST /console/account/password. The current password
// is checked only after a failure is reserved from the user's and the
// address's budgets; a right one gives it back. Once either is spent the
// form answers 429 with Retry-After, whatever it holds.
func (h *Handler) ChangePassword(c echo.Context) error {
	f := visitOf(c).form
	if f.Get("password") != f.Get("password_again") {
		d := accountData{}
		d.Errors = fieldErrors{Fields: map[string][]string{"password_again": {"The two new passwords differ."}}}
		return h.showAccount(c, http.StatusUnprocessableEntity, d)
	}
	ctx := c.Request().Context()
	uid := visitOf(c).user().ID
	charges := []budget.Charge{{Key: "password|" + uid.String(), Limit: passwordBudget},
		{Key: budget.AddressKey(c.RealIP()), Limit: budget.Address}}
	wait, err := h.d.Budgets.Reserve(ctx, charges)
	if err != nil {
		return h.fail(c, err)
	}
	if wait > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		d := accountData{}
		d.Errors = fieldErrors{Fields: map[string][]string{"current_password": {
			"Too many wrong passwords. Wait a minute and try again."}}}
		return h.showAccount(c, http.StatusTooManyRequests, d)
	}
	err = h.d.Tenants.ChangePassword(ctx, uid, f.Get("current_password"), f.Get("password"))
	if !errors.Is(err, tenants.ErrWrongPassword) {
		// Only a wrong current password spends; a right one (with a new
		// password the rules refuse, or accepted) gives the failure back.
		if rerr := h.d.Budgets.Refund(ctx, charges); rerr != nil {
			return h.fail(c, rerr)
		}
	}
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
