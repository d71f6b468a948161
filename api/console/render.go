package console

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/policy"
	"github.com/oauthd/oauthd/tenants"
)

//go:embed templates/*.html
var templateFS embed.FS

// Paths of the console.
const (
	PathRoot    = "/console"
	PathAccount = "/console/account"
)

func tenantPath(t *tenants.Tenant, suffix string) string {
	return "/console/tenants/" + t.ID.String() + suffix
}

var funcs = template.FuncMap{
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"whenPtr": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	// whenSec is a time to the second (the delivery log's retries are
	// seconds apart).
	"whenSec": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"anyChecked": func(cs []eventChoice) bool {
		return slices.ContainsFunc(cs, func(c eventChoice) bool { return c.Checked })
	},
	"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"join":     strings.Join,
	"contains": slices.Contains[[]string],
	"tpath":    tenantPath,
	// invalid marks a field with problems for assistive technology and
	// points it at its error text (see the field-errors partial).
	"invalid": func(errs fieldErrors, name string) template.HTMLAttr {
		if len(errs.For(name)) == 0 {
			return ""
		}
		return template.HTMLAttr(`aria-invalid="true" aria-describedby="` + template.HTMLEscapeString(name) + `-error"`)
	},
	"field": func(name string, errs fieldErrors) fieldView { return fieldView{Name: name, Errors: errs.For(name)} },
}

// fieldView is one field's problems, for the field-errors partial.
type fieldView struct {
	Name   string
	Errors []string
}

// parsePages parses each page with the layout and the shared partials.
func parsePages() map[string]*template.Template {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" || base == "partials.html" {
			continue
		}
		out[base] = template.Must(template.New(base).Funcs(funcs).
			ParseFS(templateFS, "templates/layout.html", "templates/partials.html", n))
	}
	return out
}

// page is what every console page shows around its content.
type page struct {
	Title   string
	User    *tenants.User
	Tenant  *tenants.Tenant
	Section string
	Nav     []navItem
	CSRF    string
	SignOut string
	// Notice says what the last action did (after a redirect).
	Notice string
	Errors fieldErrors
	// Issuer is the authorization server's URL.
	Issuer string
}

// navItem is one section of a tenant, shown to those who may read it.
type navItem struct {
	Name, Href string
	Current    bool
}

// sections are a tenant's pages and the permission that reads each.
var sections = []struct{ name, slug, perm string }{
	{"OAuth clients", "oauth-clients", policy.OAuthClientsGet},
	{"API clients", "api-clients", policy.APIClientsGet},
	{"Components", "components", policy.ComponentsGet},
	{"Flows", "flows", policy.FlowsGet},
	{"Connections", "connections", policy.ConnectionsGet},
	{"Members", "members", policy.MembersGet},
	{"Webhooks", "webhooks", policy.WebhooksGet},
	{"Audit trail", "audit-events", policy.AuditGet},
}

// base is the frame of a page titled title in section (a slug of
// sections, or "" outside them).
func (h *Handler) base(c echo.Context, title, section string) page {
	v := visitOf(c)
	p := page{Title: title, User: v.user(), Tenant: v.tenant, Section: section,
		CSRF:    h.d.Sessions.FormToken(v.visitor, csrfPurpose),
		SignOut: h.d.Sessions.SignOutToken(v.visitor),
		Notice:  notices[c.QueryParam("done")], Issuer: h.d.Issuer}
	if v.tenant != nil {
		for _, s := range sections {
			if h.can(c, s.perm) {
				p.Nav = append(p.Nav, navItem{Name: s.name, Href: tenantPath(v.tenant, "/"+s.slug), Current: s.slug == section})
			}
		}
	}
	return p
}

// notices are the messages a redirect after an action may ask for with
// ?done=; only these fixed texts are shown, never text from the URL.
var notices = map[string]string{
	"created":                "Created.",
	"saved":                  "Saved.",
	"deleted":                "Deleted.",
	"revoked":                "Revoked. Every token it issued has stopped working.",
	"tokens-revoked":         "Every token issued so far has stopped working. The client stays.",
	"secret-deleted":         "The secret was deleted and stops working at once.",
	"password":               "Your password was changed.",
	"key-deleted":            "The API key was deleted.",
	"grant-revoked":          "Access revoked: the application's tokens have stopped working.",
	"member-removed":         "The member was removed from the tenant.",
	"refreshed":              "Refreshed.",
	"enabled":                "Enabled: the next events are sent to it.",
	"disabled":               "Disabled: no event is sent to it until it is enabled again.",
	"signing-secret-deleted": "The secret was deleted and stops signing deliveries at once.",
}

// securityHeaders are on every console answer: a strict CSP (the
// console's own stylesheet and script, nothing inline, nothing from
// elsewhere), no framing, no caching of pages that may show secrets once.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "+
		"base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// render writes a page.
func (h *Handler) render(c echo.Context, status int, name string, data any) error {
	t, ok := h.pages[name]
	if !ok {
		panic("console: no template " + name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		h.d.Log.Error("render console page", "page", name, "err", err)
		return c.String(http.StatusInternalServerError, "internal error")
	}
	securityHeaders(c.Response().Header())
	return c.HTMLBlob(status, buf.Bytes())
}

// done redirects after an action (post, redirect, get), with a notice.
func done(c echo.Context, to, notice string) error {
	if notice != "" {
		sep := "?"
		if strings.Contains(to, "?") {
			sep = "&"
		}
		to += sep + "done=" + notice
	}
	return c.Redirect(http.StatusSeeOther, to)
}
