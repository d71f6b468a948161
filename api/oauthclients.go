package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/oauthclients"
)

var oauthClientSchema = schema{
	Type:          "oauth-client",
	Attributes:    []string{"client_id", "client_secret"},
	Relationships: []string{"component"},
}

var oauthClientList = listSpec{Sorts: oauthclients.ListSorts.Fields(), Filters: []string{"component"}}

func oauthClientPath(c echo.Context) string {
	return "/v2/tenants/" + tenantOf(c).String() + "/oauth-clients"
}

func toOAuthClientView(oc *oauthclients.Client) *oauthClientView {
	return &oauthClientView{
		ID: oc.ID.String(), ClientID: oc.ClientID, ClientSecretHint: oc.SecretHint, Usable: oc.Usable,
		CreatedAt: oc.CreatedAt, UpdatedAt: oc.UpdatedAt, Component: &componentRef{ID: oc.ComponentID.String()},
		tenantID: oc.TenantID.String(),
	}
}

func (s *Server) createOAuthClient(c echo.Context) error {
	doc, err := readCreate(c, oauthClientSchema)
	if err != nil {
		return err
	}
	in := oauthclients.NewClient{ClientID: doc.strOrEmpty("client_id"), ClientSecret: doc.strOrEmpty("client_secret")}
	if id := doc.toOne("component", "component"); id != nil {
		in.ComponentID = *id
	}
	if err := doc.err(); err != nil {
		return err
	}
	oc, err := s.deps.OAuthClients.Create(c.Request().Context(), tenantOf(c), in)
	if err != nil {
		return err
	}
	return writeCreated(c, oauthClientPath(c)+"/"+oc.ID.String(), toOAuthClientView(oc))
}

func (s *Server) listOAuthClients(c echo.Context) error {
	q, err := parseList(c, oauthClientList)
	if err != nil {
		return err
	}
	componentID, err := filterID(q, "component")
	if err != nil {
		return err
	}
	page, err := s.deps.OAuthClients.List(c.Request().Context(), tenantOf(c), oauthclients.Filter{ComponentID: componentID}, q.Page)
	if err != nil {
		return err
	}
	return writeList(c, mapSlice(page.Items, toOAuthClientView), q, page.Window)
}

func (s *Server) getOAuthClient(c echo.Context) error {
	id, err := pathID(c, "id", oauthclients.ErrNotFound)
	if err != nil {
		return err
	}
	if err := noQuery(c); err != nil {
		return err
	}
	oc, err := s.deps.OAuthClients.Get(c.Request().Context(), tenantOf(c), id)
	if err != nil {
		return err
	}
	return writeOne(c, http.StatusOK, toOAuthClientView(oc))
}

func (s *Server) updateOAuthClient(c echo.Context) error {
	id, err := pathID(c, "id", oauthclients.ErrNotFound)
	if err != nil {
		return err
	}
	doc, err := readUpdate(c, oauthClientSchema, id.String())
	if err != nil {
		return err
	}
	patch := oauthclients.Patch{ClientID: doc.str("client_id"), ClientSecret: doc.str("client_secret"),
		ComponentID: doc.toOne("component", "component")}
	if err := doc.err(); err != nil {
		return err
	}
	oc, err := s.deps.OAuthClients.Update(c.Request().Context(), tenantOf(c), id, patch)
	if err != nil {
		return err
	}
	return writeOne(c, http.StatusOK, toOAuthClientView(oc))
}

func (s *Server) deleteOAuthClient(c echo.Context) error {
	id, err := pathID(c, "id", oauthclients.ErrNotFound)
	if err != nil {
		return err
	}
	if err := noQuery(c); err != nil {
		return err
	}
	if err := s.deps.OAuthClients.Delete(c.Request().Context(), tenantOf(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) revealOAuthClientSecret(c echo.Context) error {
	id, err := pathID(c, "id", oauthclients.ErrNotFound)
	if err != nil {
		return err
	}
	if err := noQuery(c); err != nil {
		return err
	}
	oc, secret, err := s.deps.OAuthClients.RevealSecret(c.Request().Context(), tenantOf(c), id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return writeOne(c, http.StatusOK, &oauthClientSecretView{ID: oc.ID.String(), ClientID: oc.ClientID, ClientSecret: secret})
}
