package oauth2

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/authserver"
	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/policy"
	"github.com/oauthd/oauthd/tenants"
)

// The browser pages (sign-in, consent, device) are plain HTML forms: no
// JavaScript, every value escaped by html/template, and headers that keep
// them out of frames and caches.

// Accounts is what the pages ask of users and tenants.
type Accounts interface {
	User(ctx context.Context, id uuid.UUID) (*tenants.User, error)
	UserByEmail(ctx context.Context, email string) (*tenants.User, error)
	IsMember(ctx context.Context, tenantID, userID uuid.UUID) (bool, error)
	Tenant(ctx context.Context, id uuid.UUID) (*tenants.Tenant, error)
	StartSession(ctx context.Context, userID uuid.UUID, id []byte, expires time.Time) error
	SessionUser(ctx context.Context, id []byte, userID uuid.UUID) (*tenants.User, error)
	EndSession(ctx context.Context, id []byte) error
}

// ClientsByPK finds an API client by its row id (a device code names its
// client that way).
type ClientsByPK interface {
	Get(ctx context.Context, tenantID, id uuid.UUID) (*apiclients.Client, error)
}

// pageState is the pages' share of the handler.
type pageState struct {
	templates map[string]*template.Template
	passwords signInPasswords
}

//go:embed templates/*.html
var templateFS embed.FS

var pageNames = []string{"signin.html", "signed_in.html", "consent.html", "device.html", "device_done.html", "error.html", "connected.html"}

func newPageState() *pageState {
	ps := &pageState{templates: map[string]*template.Template{}}
	for _, name := range pageNames {
		ps.templates[name] = template.Must(template.New(name).ParseFS(templateFS, "templates/layout.html", "templates/"+name))
	}
	return ps
}

// basePage is what every page shows: its title and who is signed in.
type basePage struct {
	Title string
	Email string
}

// signOutForm is the small "not you? sign out" form.
type signOutForm struct {
	CSRF     string
	ReturnTo string
}

func (h *Handler) signOutForm(s session, returnTo string) *signOutForm {
	return &signOutForm{CSRF: h.csrfToken(sessionCSRFID(s), purposeSignOut), ReturnTo: safeReturnTo(returnTo)}
}

type signInPage struct {
	basePage
	CSRF, ReturnTo, EmailValue, Problem string
}

type signedInPage struct {
	basePage
	SignOut *signOutForm
}

type errorPage struct {
	basePage
	Message string
	SignOut *signOutForm
}

// hiddenField is a form value carried through a page as it came.
type hiddenField struct{ Name, Value string }

// consentPage asks the user to approve an application's access.
type consentPage struct {
	basePage
	Action     string
	ClientName string
	TenantName string
	Scopes     []scopeWords
	Withheld   []string // what was asked for that the user cannot grant, in words
	CSRF       string
	Hidden     []hiddenField
	Device     string // the user code, on the device flow's consent
	SignOut    *signOutForm
}

type devicePage struct {
	basePage
	CSRF, UserCode, Problem string
	SignOut                 *signOutForm
}

type deviceDonePage struct {
	basePage
	Approved bool
}

// pageHeaders are on every page. formAction adds a source to the CSP's
// form-action for the consent form, whose answer redirects to the client:
// browsers apply form-action to the redirect after a submission too.
func pageHeaders(c echo.Context, formAction string) {
	csp := "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
	if formAction != "" {
		csp += " " + formAction
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

func (h *Handler) render(c echo.Context, status int, name string, data any) error {
	return h.renderWith(c, status, name, data, "")
}

func (h *Handler) renderWith(c echo.Context, status int, name string, data any, formAction string) error {
	var buf bytes.Buffer
	if err := h.pages.templates[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		h.d.Log.Error("render page", "page", name, "err", err)
		return c.String(http.StatusInternalServerError, "internal error")
	}
	pageHeaders(c, formAction)
	return c.HTMLBlob(status, buf.Bytes())
}

func (h *Handler) renderError(c echo.Context, status int, title, message string) error {
	return h.render(c, status, "error.html", errorPage{basePage: basePage{Title: title}, Message: message})
}

// pageError answers an unexpected error with a page: a malformed form is
// 400, an unreachable database or one still deadlocked after its retries
// 503 with Retry-After, anything else a logged 500.
func (h *Handler) pageError(c echo.Context, err error) error {
	var oe *oauthError
	switch {
	case errors.As(err, &oe):
		return h.renderError(c, oe.status, "Bad request", oe.Description)
	case database.IsUnavailable(err), database.IsContention(err):
		h.d.Log.Warn("page: database unavailable or busy", "path", c.Path(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err)
		c.Response().Header().Set("Retry-After", "1")
		return h.renderError(c, http.StatusServiceUnavailable, "Temporarily unavailable",
			"The service cannot reach its database right now. Try again in a moment.")
	default:
		h.d.Log.Error("page error", "path", c.Path(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err)
		return h.renderError(c, http.StatusInternalServerError, "Something went wrong",
			"Something went wrong on our side. Try again; if it keeps happening, contact support with request id "+
				c.Response().Header().Get(echo.HeaderXRequestID)+".")
	}
}

// pageForm reads a page's form post with the token endpoint's rules.
func pageForm(c echo.Context) (url.Values, error) {
	return readForm(c.Request())
}

func itoa(n int) string { return strconv.Itoa(n) }

// formActionSource is the CSP source for a redirect URI's origin, "" when
// it cannot be written safely.
func formActionSource(redirect string) string {
	u, err := url.Parse(redirect)
	if err != nil || u.Scheme == "" {
		return ""
	}
	src := u.Scheme + ":"
	if u.Scheme == "http" || u.Scheme == "https" {
		src = u.Scheme + "://" + u.Host
	}
	for _, r := range src {
		if !strings.ContainsRune(base64URLAlphabet+".+:/[]", r) {
			return ""
		}
	}
	return src
}

// requireMember answers with the not-a-member page (or an error page) and
// ok=false unless the user is a member of the tenant. It is the rule of
// authserver's Grants.Check, exchange and refresh: a user's token lives
// only as long as the user's membership of the token's tenant, so a
// consent from anyone else would mint codes and device approvals that
// only fail later with invalid_grant. Superusers are no exception: they
// administer every tenant with basic auth, but a token acts for a
// membership, and a superuser outside the tenant has none.
func (h *Handler) requireMember(c echo.Context, s session, u *tenants.User, tenantID uuid.UUID, returnTo string) (bool, error) {
	member, err := h.d.Accounts.IsMember(c.Request().Context(), tenantID, u.ID)
	if err != nil {
		return false, h.pageError(c, err)
	}
	if !member {
		return false, h.notMember(c, s, u, returnTo)
	}
	return true, nil
}

const msgNotMember = "Your account is not a member of the tenant that registered this application, so you cannot " +
	"grant it access: an owner of that tenant must add you as a member first. Or sign in with another account."

const msgNotMemberSuperuser = " Being a superuser does not make you a member: access granted here acts through a " +
	"membership, and superusers administer tenants with their API key (basic auth) instead."

// notMember is the page for a user outside the client's tenant (HTTP 403,
// and nothing redirected to the client: the user may still sign in as
// someone else). It names neither the tenant nor the client: the user has
// no right to know them.
func (h *Handler) notMember(c echo.Context, s session, u *tenants.User, returnTo string) error {
	msg := msgNotMember
	if u.Superuser {
		msg += msgNotMemberSuperuser
	}
	return h.render(c, http.StatusForbidden, "error.html", errorPage{
		basePage: basePage{Title: "Not a member", Email: u.Email},
		Message:  msg,
		SignOut:  h.signOutForm(s, returnTo),
	})
}

func (h *Handler) tenantName(ctx context.Context, id uuid.UUID) (string, error) {
	t, err := h.d.Accounts.Tenant(ctx, id)
	if err != nil {
		return "", err
	}
	return t.Name, nil
}

// consentWords is what the consent page says the user grants (of scopes,
// the user's consent: authserver's ConsentFor, which issuing a code or
// approving a device applies again) and withholds. A user who holds none
// of it gets the nothing-to-grant page (403) instead: ok is false and the
// page has been answered.
func (h *Handler) consentWords(c echo.Context, s session, u *tenants.User, tenantID uuid.UUID, scopes []string,
	returnTo string) (granted []scopeWords, withheld []string, ok bool, err error) {
	consent, err := h.d.Grants.ConsentFor(tenantID, u.ID, scopes)
	if err != nil {
		return nil, nil, false, h.consentRefused(c, s, u, err, returnTo)
	}
	for _, p := range consent.Withheld {
		withheld = append(withheld, permissionWords(p)+" ("+p+")")
	}
	return h.describeScopes(consent.Granted), withheld, true, nil
}

// consentRefused answers a consent that cannot be given: the user holds
// none of what the application asks for (403, naming a permission they
// lack), or any other error.
func (h *Handler) consentRefused(c echo.Context, s session, u *tenants.User, err error, returnTo string) error {
	missing, ok := authserver.IsNothingToGrant(err)
	if !ok {
		return h.pageError(c, err)
	}
	return h.render(c, http.StatusForbidden, "error.html", errorPage{
		basePage: basePage{Title: "Nothing you can grant", Email: u.Email},
		Message: "This application asks only for access your account does not have in the tenant (for example " +
			missing + "), and nobody can grant a right they do not hold. Ask a tenant owner for the access, " +
			"or sign in with another account.",
		SignOut: h.signOutForm(s, returnTo),
	})
}

// scopeWords is a scope as the consent page shows it.
type scopeWords struct {
	Scope string
	Text  string
	Items []string
}

var resourceWords = map[string]string{
	"oauth_clients": "OAuth clients", "components": "components", "flows": "flows",
	"api_clients": "API clients", "members": "members", "audit": "audit log", "connections": "connections",
}

var actionWords = map[string]string{
	"get": "Read the tenant's %s", "create": "Create %s in the tenant", "edit": "Change the tenant's %s",
	"delete": "Delete the tenant's %s", "reveal_secret": "Read the stored secrets of the tenant's %s",
	"token": "Take access tokens of the tenant's %s",
}

// permissionWords says what a catalogue permission allows, in words;
// a permission without words shows its name.
func permissionWords(perm string) string {
	parts := strings.Split(perm, ".")
	if len(parts) != 3 || parts[0] != "tenants" {
		return perm
	}
	res, ok1 := resourceWords[parts[1]]
	act, ok2 := actionWords[parts[2]]
	if !ok1 || !ok2 {
		return perm
	}
	return strings.Replace(act, "%s", res, 1)
}

// describeScopes puts a token's scopes into words: a permission as a
// sentence, a pattern or a role as the permissions it covers today.
func (h *Handler) describeScopes(scopes []string) []scopeWords {
	out := make([]scopeWords, 0, len(scopes))
	for _, s := range scopes {
		w := scopeWords{Scope: s}
		role, isRole := strings.CutPrefix(s, policy.RoleScopePrefix)
		switch {
		case isRole:
			w.Text = "Everything the " + role + " role may do:"
			if len(h.d.Scopes.PermissionsOf(s)) == 0 {
				w.Text = "Everything the " + role + " role may do (today, nothing)"
			}
		case strings.HasSuffix(s, "*"):
			w.Text = "All of:"
		default:
			w.Text = permissionWords(s)
		}
		if isRole || strings.HasSuffix(s, "*") {
			for _, p := range h.d.Scopes.PermissionsOf(s) {
				w.Items = append(w.Items, permissionWords(p))
			}
		}
		out = append(out, w)
	}
	return out
}
