// Package console is the web console: server-rendered pages under /console
// on the same domain services as the JSON:API, so permissions, the rule
// that nobody grants a right they lack, in-use refusals and audit events
// all come from the domain. Pages are plain HTML forms that work without
// JavaScript (a small vendored script adds copy buttons), signed in with
// the sign-in pages' session, with a CSRF token in every form and a strict
// Content-Security-Policy. One file per page or action.
package console

import (
	"html/template"
	"log/slog"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/api/oauth2"
	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/audit"
	"github.com/oauthd/oauthd/authserver"
	"github.com/oauthd/oauthd/components"
	"github.com/oauthd/oauthd/connections"
	"github.com/oauthd/oauthd/internal/budget"
	"github.com/oauthd/oauthd/oauthclients"
	"github.com/oauthd/oauthd/policy"
	"github.com/oauthd/oauthd/tenants"
	"github.com/oauthd/oauthd/webhooks"
)

// Sessions is what the console asks of the sign-in pages' session.
type Sessions interface {
	Visitor(c echo.Context) (*oauth2.Visitor, error)
	FormToken(v *oauth2.Visitor, purpose string) string
	FormTokenValid(v *oauth2.Visitor, token, purpose string) bool
	SignOutToken(v *oauth2.Visitor) string
}

// Deps are the services the console shows.
type Deps struct {
	Sessions     Sessions
	Tenants      *tenants.Service
	Policy       *policy.Enforcer
	Audit        *audit.Log
	Components   *components.Service
	OAuthClients *oauthclients.Service
	APIClients   *apiclients.Service
	Connections  *connections.Service
	Grants       *authserver.Grants
	Webhooks     *webhooks.Service
	// Budgets keeps the failure budgets every instance shares (the
	// password form spends from them, as the sign-in page does).
	Budgets budget.Store
	// Issuer is the authorization server's URL, for the examples pages show.
	Issuer string
	Log    *slog.Logger
}

// Handler serves the console's pages.
type Handler struct {
	d     Deps
	pages map[string]*template.Template
}

// New builds the console.
func New(d Deps) *Handler {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &Handler{d: d, pages: parsePages()}
}
