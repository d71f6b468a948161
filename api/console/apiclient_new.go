package console

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/policy"
)

// apiClientFields are the generate form's fields, in the domain's names.
var apiClientFields = []string{"name", "template", "roles", "redirect_uris"}

// defaultTemplate is the generate form's first choice: Encore's dialog
// makes a machine client with roles.
const defaultTemplate = "service-account"

// roleChoice is one role checkbox, with what the role holds today.
type roleChoice struct {
	Name        string
	Permissions []string
	Checked     bool
}

type apiClientNewData struct {
	page
	Name         string
	Template     string
	Templates    []apiclients.Template
	Roles        []roleChoice
	RedirectURIs string
}

// NewAPIClient is GET /console/tenants/{tid}/api-clients/new: Encore's
// "Generate OAuth client" dialog, form generate-api-client.
func (h *Handler) NewAPIClient(c echo.Context) error {
	return h.showNewAPIClient(c, http.StatusOK, apiClientNewData{Template: defaultTemplate}, nil)
}

func (h *Handler) showNewAPIClient(c echo.Context, status int, d apiClientNewData, checked []string) error {
	roles, err := h.clientRoles(c)
	if err != nil {
		return h.fail(c, err)
	}
	for _, r := range roles {
		d.Roles = append(d.Roles, roleChoice{Name: r, Permissions: h.d.Policy.PermissionsOf(policy.RoleScopePrefix + r),
			Checked: slices.Contains(checked, r)})
	}
	d.Templates = apiclients.Templates()
	errs := d.Errors
	d.page = h.base(c, "Generate API client", "api-clients")
	d.Errors = errs
	return h.render(c, status, "apiclient_new.html", d)
}

// clientRoles are the roles the user may give an API client: the
// domain's rule that nobody grants a right they lack, asked role by role.
func (h *Handler) clientRoles(c echo.Context) ([]string, error) {
	var out []string
	for _, r := range h.d.Policy.Roles() {
		ps, err := h.d.Policy.ExceedingClientGrant(policy.ClientRights{Roles: []string{r}}, h.allowance(c))
		if err != nil {
			return nil, err
		}
		if len(ps) == 0 {
			out = append(out, r)
		}
	}
	return out, nil
}

type apiClientCreatedData struct {
	page
	Client *apiclients.Client
	Secret string
	// NewSecret: a secret added to an existing client, not a new client.
	NewSecret bool
}

// CreateAPIClient is POST /console/tenants/{tid}/api-clients: the client
// is made by the domain (which refuses roles the user lacks) and its
// secret shown on this answer only; it is never shown again.
func (h *Handler) CreateAPIClient(c echo.Context) error {
	f := visitOf(c).form
	in := apiclients.NewClient{Name: strings.TrimSpace(f.Get("name")), Template: f.Get("template"), Roles: f["roles"]}
	if in.Roles == nil {
		in.Roles = []string{}
	}
	if uris := lines(f.Get("redirect_uris")); len(uris) > 0 {
		in.RedirectURIs = uris
	}
	var createdBy = &visitOf(c).user().ID
	ac, secret, err := h.d.APIClients.Create(c.Request().Context(), visitOf(c).tenant.ID, createdBy, in, h.allowance(c))
	if err != nil {
		return h.refuseNewAPIClient(c, in, f.Get("redirect_uris"), err)
	}
	return h.render(c, http.StatusCreated, "apiclient_created.html", apiClientCreatedData{
		page: h.base(c, "API client "+ac.Name+" generated", "api-clients"), Client: ac, Secret: secret})
}

func (h *Handler) refuseNewAPIClient(c echo.Context, in apiclients.NewClient, uris string, err error) error {
	errs, ok := formProblems(err, apiClientFields...)
	if !ok {
		return h.fail(c, err)
	}
	d := apiClientNewData{Name: in.Name, Template: in.Template, RedirectURIs: uris}
	d.Errors = errs
	return h.showNewAPIClient(c, statusOf(err), d, in.Roles)
}

// lines splits a textarea into its non-empty trimmed lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
