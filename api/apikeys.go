package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/tenants"
)

var apiKeySchema = schema{Type: "api-key", Attributes: []string{"name"}}

var apiKeyList = listSpec{Sorts: tenants.APIKeySorts.Fields()}

func toAPIKeyView(k *tenants.APIKey) *apiKeyView {
	return &apiKeyView{ID: k.ID.String(), Name: k.Name, Hint: k.Hint, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt,
		User: &userRef{ID: k.UserID.String()}}
}

// createAPIKey returns the key this once; only its digest is kept.
func (s *Server) createAPIKey(c echo.Context) error {
	doc, err := readCreate(c, apiKeySchema)
	if err != nil {
		return err
	}
	name := doc.strOrEmpty("name")
	if err := doc.err(); err != nil {
		return err
	}
	uid := userParam(c)
	k, plain, err := s.deps.Tenants.CreateAPIKey(c.Request().Context(), actingOf(c), uid, name)
	if err != nil {
		return err
	}
	v := toAPIKeyView(k)
	v.Key = plain
	c.Response().Header().Set("Cache-Control", "no-store")
	return writeCreated(c, "/v2/users/"+uid.String()+"/api-keys/"+k.ID.String(), v)
}

func (s *Server) listAPIKeys(c echo.Context) error {
	q, err := parseList(c, apiKeyList)
	if err != nil {
		return err
	}
	page, err := s.deps.Tenants.APIKeys(c.Request().Context(), userParam(c), q.Page)
	if err != nil {
		return err
	}
	return writeList(c, mapSlice(page.Items, toAPIKeyView), q, page.Window)
}

func (s *Server) deleteAPIKey(c echo.Context) error {
	id, err := pathID(c, "kid", tenants.ErrAPIKeyNotFound)
	if err != nil {
		return err
	}
	if err := noQuery(c); err != nil {
		return err
	}
	if err := s.deps.Tenants.DeleteAPIKey(c.Request().Context(), userParam(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
