package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/components"
	"github.com/oauthd/oauthd/connections"
)

var connectionSchema = schema{Type: "connection", Attributes: []string{"name"}, Relationships: []string{"component"}}

var connectionList = listSpec{Sorts: connections.ListSorts.Fields(), Filters: []string{"component", "state"}}

func connectionPath(c echo.Context) string {
	return "/v2/tenants/" + tenantOf(c).String() + "/connections"
}

func toConnectionView(cn *connections.Connection) *connectionView {
	v := &connectionView{ID: cn.ID.String(), Name: cn.Name, State: cn.State, Scopes: cn.Scopes, ExpiresAt: cn.ExpiresAt,
		CreatedAt: cn.CreatedAt, UpdatedAt: cn.UpdatedAt, Component: &componentRef{ID: cn.ComponentID.String()},
		tenantID: cn.TenantID.String()}
	if v.Scopes == nil {
		v.Scopes = []string{}
	}
	if cn.AuthorizeURL != "" {
		v.AuthorizeURL = &cn.AuthorizeURL
	}
	if cn.OAuthClientID != nil {
		v.OAuthClient = &oauthClientRef{ID: cn.OAuthClientID.String()}
	}
	if cn.ErrorCode != nil {
		e := map[string]any{"code": *cn.ErrorCode, "detail": cn.ErrorDetail, "occurred_at": rfc3339(cn.ErrorAt), "retry_at": rfc3339(cn.RetryAt)}
		v.Error = e
	}
	return v
}

func rfc3339(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func (s *Server) createConnection(c echo.Context) error {
	doc, err := readCreate(c, connectionSchema)
	if err != nil {
		return err
	}
	in := connections.NewConnection{Name: doc.strOrEmpty("name")}
	if id := doc.toOne("component", "component"); id != nil {
		in.ComponentID = *id
	}
	if err := doc.err(); err != nil {
		return err
	}
	cn, err := s.deps.Connections.Create(c.Request().Context(), tenantOf(c), in)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store") // authorize_url is a capability
	return writeCreated(c, connectionPath(c)+"/"+cn.ID.String(), toConnectionView(cn))
}

func (s *Server) listConnections(c echo.Context) error {
	q, err := parseList(c, connectionList)
	if err != nil {
		return err
	}
	componentID, err := filterID(q, "component")
	if err != nil {
		return err
	}
	state := q.Filters["state"]
	if _, ok := q.Filters["state"]; ok && !slices.Contains(connections.States, state) {
		return paramError("filter[state]", "invalid_filter", `filter[state] must be "pending", "ready" or "error"`)
	}
	page, err := s.deps.Connections.List(c.Request().Context(), tenantOf(c), connections.Filter{ComponentID: componentID, State: state}, q.Page)
	if err != nil {
		return err
	}
	return writeList(c, mapSlice(page.Items, toConnectionView), q, page.Window)
}

// connectionAction reads the id of /connections/:id[/action] requests,
// which take no query parameters.
func connectionAction(c echo.Context) (uuid.UUID, error) {
	uid, err := pathID(c, "id", connections.ErrNotFound)
	if err != nil {
		return uid, err
	}
	return uid, noQuery(c)
}

func (s *Server) getConnection(c echo.Context) error {
	id, err := connectionAction(c)
	if err != nil {
		return err
	}
	cn, err := s.deps.Connections.Get(c.Request().Context(), tenantOf(c), id)
	if err != nil {
		return err
	}
	return writeOne(c, http.StatusOK, toConnectionView(cn))
}

func (s *Server) deleteConnection(c echo.Context) error {
	id, err := connectionAction(c)
	if err != nil {
		return err
	}
	if err := s.deps.Connections.Delete(c.Request().Context(), tenantOf(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) connectionAccessToken(c echo.Context) error {
	id, err := connectionAction(c)
	if err != nil {
		return err
	}
	tok, err := s.deps.Connections.AccessToken(c.Request().Context(), tenantOf(c), id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return writeOne(c, http.StatusOK, &connectionTokenView{ID: tok.ConnectionID.String(), AccessToken: tok.AccessToken,
		TokenType: tok.TokenType, ExpiresAt: tok.ExpiresAt, Scope: tok.Scope})
}

func (s *Server) refreshConnection(c echo.Context) error {
	id, err := connectionAction(c)
	if err != nil {
		return err
	}
	cn, err := s.deps.Connections.Refresh(c.Request().Context(), tenantOf(c), id)
	if err != nil {
		return err
	}
	return writeOne(c, http.StatusOK, toConnectionView(cn))
}

func (s *Server) reconnectConnection(c echo.Context) error {
	id, err := connectionAction(c)
	if err != nil {
		return err
	}
	cn, err := s.deps.Connections.Reconnect(c.Request().Context(), tenantOf(c), id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return writeOne(c, http.StatusOK, toConnectionView(cn))
}

func (s *Server) componentOAuthConfig(c echo.Context) error {
	id, err := pathID(c, "id", components.ErrComponentNotFound)
	if err != nil {
		return err
	}
	if err := noQuery(c); err != nil {
		return err
	}
	cfg, err := s.deps.Connections.OAuthConfig(c.Request().Context(), tenantOf(c), id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	v := &componentOAuthConfigView{ID: cfg.ComponentID.String(), ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		Scopes: cfg.Scopes, ClientAuth: cfg.ClientAuth, Env: cfg.Env,
		AuthURI: nullable(cfg.AuthURI), TokenURI: nullable(cfg.TokenURI), RefreshTokenURI: nullable(cfg.RefreshTokenURI)}
	return writeOne(c, http.StatusOK, v)
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
