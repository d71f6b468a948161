package console

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/api/oauth2"
	"github.com/oauthd/oauthd/audit"
	"github.com/oauthd/oauthd/policy"
	"github.com/oauthd/oauthd/tenants"
)

// visit is one request of a signed-in user: who, in which tenant, and the
// answers to "may they?" asked so far.
type visit struct {
	visitor *oauth2.Visitor
	tenant  *tenants.Tenant // nil outside a tenant's pages
	form    url.Values      // a POST's form, read and CSRF-checked
	allowed map[string]bool
}

const ctxVisit = "oauthd.console.visit"

func visitOf(c echo.Context) *visit {
	v, _ := c.Get(ctxVisit).(*visit)
	return v
}

func (v *visit) user() *tenants.User { return v.visitor.User }

// acting is the user as the identity service judges a caller: themself,
// with all their rights (a browser session is not a scoped token).
func (v *visit) acting() *tenants.Acting {
	return &tenants.Acting{UserID: v.user().ID, Superuser: v.user().Superuser}
}

// csrfPurpose is the one purpose of every console form: each token is
// bound to the session, which a cross-site page cannot read.
const csrfPurpose = "forms"

// SignedIn sends a visitor who is not signed in to the sign-in page and
// back, checks the CSRF token of every form post, and names the user as
// the actor of the request's audit events.
func (h *Handler) SignedIn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		vis, err := h.d.Sessions.Visitor(c)
		if err != nil {
			return h.fail(c, err)
		}
		if vis == nil {
			return h.toSignIn(c)
		}
		v := &visit{visitor: vis, allowed: map[string]bool{}}
		c.Set(ctxVisit, v)
		if c.Request().Method == http.MethodPost {
			form, err := readForm(c)
			if err != nil {
				return h.errorPage(c, http.StatusBadRequest, "Bad request", err.Error())
			}
			if !h.d.Sessions.FormTokenValid(vis, form.Get("csrf"), csrfPurpose) {
				return h.errorPage(c, http.StatusForbidden, "This form has expired",
					"The form was not sent from this site, or it is from an earlier sign-in. Go back, reload the page and try again.")
			}
			v.form = form
		}
		u := vis.User
		actor := audit.Actor{UserID: &u.ID, Email: u.Email, RemoteAddr: c.RealIP(),
			RequestID: c.Response().Header().Get(echo.HeaderXRequestID)}
		c.SetRequest(c.Request().WithContext(audit.WithActor(c.Request().Context(), actor)))
		return next(c)
	}
}

// toSignIn is the sign-in page's address, coming back to this page (a
// form post comes back to the console's front page: its form is gone).
func (h *Handler) toSignIn(c echo.Context) error {
	back := c.Request().URL.RequestURI()
	if c.Request().Method != http.MethodGet {
		back = PathRoot
	}
	return c.Redirect(http.StatusSeeOther, oauth2.PathSignIn+"?"+url.Values{"return_to": {oauth2.SafeReturnTo(back)}}.Encode())
}

// InTenant resolves {tid}: a user who is not a member (nor a superuser)
// gets the same 404 as for a tenant that does not exist, as on the API.
func (h *Handler) InTenant(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		v := visitOf(c)
		id, ok := pathUUID(c, "tid")
		if !ok {
			return h.notFound(c)
		}
		ctx := c.Request().Context()
		if !v.user().Superuser {
			member, err := h.d.Tenants.IsMember(ctx, id, v.user().ID)
			if err != nil {
				return h.fail(c, err)
			}
			if !member {
				return h.notFound(c)
			}
		}
		t, err := h.d.Tenants.Tenant(ctx, id)
		if err != nil {
			return h.fail(c, err)
		}
		v.tenant = t
		return next(c)
	}
}

// Require answers 403 unless the user holds perm in the tenant.
func (h *Handler) Require(perm string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ok, err := h.may(c, perm)
			if err != nil {
				return h.fail(c, err)
			}
			if !ok {
				return h.forbidden(c, perm)
			}
			return next(c)
		}
	}
}

// may answers whether the user holds perm in the current tenant: the
// policy's answer, as the API asks it; superusers hold everything.
func (h *Handler) may(c echo.Context, perm string) (bool, error) {
	v := visitOf(c)
	if v.user().Superuser {
		return true, nil
	}
	if ok, seen := v.allowed[perm]; seen {
		return ok, nil
	}
	ok, err := h.d.Policy.Allowed(v.user().ID, v.tenant.ID, perm)
	if err != nil {
		return false, err
	}
	v.allowed[perm] = ok
	return ok, nil
}

// allowance is the user's rights in the tenant for the domain's rule that
// nobody grants or takes away more than they hold; nil for superusers.
func (h *Handler) allowance(c echo.Context) policy.Allowance {
	if visitOf(c).user().Superuser {
		return nil
	}
	return func(perm string) (bool, error) { return h.may(c, perm) }
}

// can is may for deciding whether to show a button: an error hides it
// (and is logged), the action itself would report it.
func (h *Handler) can(c echo.Context, perm string) bool {
	ok, err := h.may(c, perm)
	if err != nil {
		h.d.Log.Error("console permission check", "perm", perm, "err", err)
	}
	return ok
}

// pathUUID reads a path parameter that must be a UUID.
func pathUUID(c echo.Context, name string) (uuid.UUID, bool) {
	raw := c.Param(name)
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		return uuid.Nil, false
	}
	return id, true
}

// maxFormBytes bounds a console form post (the server's body limit is
// larger: component descriptors may be long, but not a megabyte).
const maxFormBytes = 256 << 10

var errFormType = errors.New("forms are sent as application/x-www-form-urlencoded")

// readForm reads an url-encoded form post.
func readForm(c echo.Context) (url.Values, error) {
	r := c.Request()
	ct, _, _ := strings.Cut(r.Header.Get(echo.HeaderContentType), ";")
	if !strings.EqualFold(strings.TrimSpace(ct), echo.MIMEApplicationForm) {
		return nil, errFormType
	}
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, errors.New("the form could not be read: it is malformed or too large")
	}
	return r.PostForm, nil
}
