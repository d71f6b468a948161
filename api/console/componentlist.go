package console

import (
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/components"
	"github.com/oauthd/oauthd/internal/listing"
)

// maxChoices bounds the components a select offers (and the console
// names in lists); a tenant with more is served by the API.
const maxChoices = 1000

// visibleComponents are the components the tenant can see (its own and
// the global ones), by name.
func (h *Handler) visibleComponents(c echo.Context) ([]components.Component, error) {
	page, err := h.d.Components.Components(c.Request().Context(), visitOf(c).tenant.ID, components.Filter{},
		listing.Params{Number: 1, Size: maxChoices, Sort: []listing.Sort{{Field: "name"}}})
	return page.Items, err
}

// componentNames maps the tenant's visible components' ids to names.
func componentNames(list []components.Component) map[uuid.UUID]string {
	out := make(map[uuid.UUID]string, len(list))
	for _, c := range list {
		out[c.ID] = c.Name
	}
	return out
}

// option is one choice of a select.
type option struct {
	Value, Label string
	Selected     bool
}

// oauthComponentOptions are the components that use an OAuth client, for
// the OAuth client form and the list's filter.
func oauthComponentOptions(list []components.Component, selected string) []option {
	var out []option
	for _, c := range list {
		if c.UseOAuthClient {
			out = append(out, option{Value: c.ID.String(), Label: c.Name, Selected: c.ID.String() == selected})
		}
	}
	return out
}
