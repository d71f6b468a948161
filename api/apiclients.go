package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/internal/fault"
	"github.com/oauthd/oauthd/internal/listing"
)

var apiClientSchema = schema{
	Type: "api-client",
	Attributes: []string{"name", "client_type", "grant_types", "redirect_uris", "roles", "scopes", "require_pkce",
		"access_token_ttl", "refresh_token_ttl", "template"},
}

// apiClientUpdateSchema leaves out what never changes after create.
var apiClientUpdateSchema = schema{
	Type: "api-client",
	Attributes: []string{"name", "grant_types", "redirect_uris", "roles", "scopes", "require_pkce",
		"access_token_ttl", "refresh_token_ttl"},
}

var apiClientSecretSchema = schema{Type: "api-client-secret", Attributes: []string{"expires_at"}}

var apiClientList = listSpec{Sorts: apiclients.ListSorts.Fields(), Filters: []string{"unused"}}

// plainList is a list endpoint with nothing to sort or filter.
var plainList = listSpec{}

func apiClientPath(c echo.Context) string {
	return "/v2/tenants/" + tenantOf(c).String() + "/api-clients"
}

func toAPIClientView(ac *apiclients.Client) *apiClientView {
	v := &apiClientView{
		ID: ac.ID.String(), ClientID: ac.ClientID, Name: ac.Name, ClientType: ac.ClientType,
		GrantTypes: nonNil(ac.GrantTypes), RedirectURIs: nonNil(ac.RedirectURIs), Roles: nonNil(ac.Roles),
		Scopes: nonNil(ac.Scopes), RequirePKCE: ac.RequirePKCE, AccessTokenTTL: ac.AccessTokenTTL,
		RefreshTokenTTL: ac.RefreshTokenTTL, Template: ac.Template, LastUsedAt: ac.LastUsedAt,
		CreatedAt: ac.CreatedAt, UpdatedAt: ac.UpdatedAt, tenantID: ac.TenantID.String(),
	}
	if ac.CreatedBy != nil {
		by := ac.CreatedBy.String()
		v.CreatedBy = &by
	}
	return v
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func toAPIClientSecretView(clientPath string) func(*apiclients.Secret) *apiClientSecretView {
	return func(sec *apiclients.Secret) *apiClientSecretView {
		return &apiClientSecretView{ID: sec.ID.String(), Hint: sec.Hint, ExpiresAt: sec.ExpiresAt,
			LastUsedAt: sec.LastUsedAt, CreatedAt: sec.CreatedAt, path: clientPath + "/secrets/" + sec.ID.String()}
	}
}

func toAPIClientTemplateView(t *apiclients.Template) *apiClientTemplateView {
	return &apiClientTemplateView{ID: t.ID, Name: t.Name, Description: t.Description, ClientType: t.ClientType,
		GrantTypes: nonNil(t.GrantTypes), RedirectURIs: nonNil(t.RedirectURIs), Scopes: nonNil(t.Scopes),
		RequirePKCE: t.RequirePKCE}
}

// nullableInt reads an integer attribute that may be null: nil when
// absent, a pointer to nil for null.
func (d *resourceDoc) nullableInt(attr string) **int {
	raw, ok := d.attributes[attr]
	if !ok {
		return nil
	}
	var v *int
	if !isNull(raw) {
		var n int32 // lifetimes are stored as Postgres integers
		if json.Unmarshal(raw, &n) != nil {
			d.wrongType(attr, "a whole number of seconds or null")
			return nil
		}
		i := int(n)
		v = &i
	}
	return &v
}

// timestamp reads an RFC 3339 attribute that may be null; nil when absent
// or null.
func (d *resourceDoc) timestamp(attr string) *time.Time {
	raw, ok := d.attributes[attr]
	if !ok || isNull(raw) {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		d.wrongType(attr, "an RFC 3339 timestamp or null")
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		d.problems.Add(fault.InvalidAttribute(attr, "invalid_timestamp", attr+" must be an RFC 3339 timestamp such as 2030-01-02T15:04:05Z"))
		return nil
	}
	return &t
}

// createAPIClient returns the client's first secret this once; only its
// SHA-256 digest is kept.
func (s *Server) createAPIClient(c echo.Context) error {
	doc, err := readCreate(c, apiClientSchema)
	if err != nil {
		return err
	}
	in := apiclients.NewClient{Name: doc.strOrEmpty("name"), ClientType: doc.strOrEmpty("client_type"),
		Template: doc.strOrEmpty("template")}
	for _, l := range []struct {
		attr string
		dst  *[]string
	}{{"grant_types", &in.GrantTypes}, {"redirect_uris", &in.RedirectURIs}, {"roles", &in.Roles}, {"scopes", &in.Scopes}} {
		if v := doc.strings(l.attr); v != nil {
			*l.dst = *v
		}
	}
	if b := doc.boolean("require_pkce"); b != nil {
		in.RequirePKCE = *b
	}
	if v := doc.nullableInt("access_token_ttl"); v != nil {
		in.AccessTokenTTL = *v
	}
	if v := doc.nullableInt("refresh_token_ttl"); v != nil {
		in.RefreshTokenTTL = *v
	}
	if err := doc.err(); err != nil {
		return err
	}
	var createdBy *uuid.UUID
	if u := principalOf(c).User; u != nil {
		createdBy = &u.ID
	}
	ac, secret, err := s.deps.APIClients.Create(c.Request().Context(), tenantOf(c), createdBy, in, s.allowance(c))
	if err != nil {
		return err
	}
	v := toAPIClientView(ac)
	v.ClientSecret = secret
	c.Response().Header().Set("Cache-Control", "no-store")
	return writeCreated(c, apiClientPath(c)+"/"+ac.ID.String(), v)
}

func (s *Server) listAPIClients(c echo.Context) error {
	q, err := parseList(c, apiClientList)
	if err != nil {
		return err
	}
	unused, err := filterBool(q, "unused")
	if err != nil {
		return err
	}
	page, err := s.deps.APIClients.List(c.Request().Context(), tenantOf(c), apiclients.Filter{Unused: unused}, q.Page)
	if err != nil {
		return err
	}
	return writeList(c, mapSlice(page.Items, toAPIClientView), q, page.Window)
}

func (s *Server) getAPIClient(c echo.Context) error {
	id, err := pathID(c, "id", apiclients.ErrNotFound)
	if err != nil {
		return err
	}
	if err := noQuery(c); err != nil {
		return err
	}
	ac, err := s.deps.APIClients.Get(c.Request().Context(), tenantOf(c), id)
	if err != nil {
		return err
	}
	return writeOne(c, http.StatusOK, toAPIClientView(ac))
}

func (s *Server) updateAPIClient(c echo.Context) error {
	id, err := pathID(c, "id", apiclients.ErrNotFound)
	if err != nil {
		return err
	}
	doc, err := readUpdate(c, apiClientUpdateSchema, id.String())
	if err != nil {
		return err
	}
	p := apiclients.Patch{Name: doc.str("name"), GrantTypes: doc.strings("grant_types"),
		RedirectURIs: doc.strings("redirect_uris"), Roles: doc.strings("roles"), Scopes: doc.strings("scopes"),
		RequirePKCE: doc.boolean("require_pkce"), AccessTokenTTL: doc.nullableInt("access_token_ttl"),
		RefreshTokenTTL: doc.nullableInt("refresh_token_ttl")}
	if err := doc.err(); err != nil {
		return err
	}
	ac, err := s.deps.APIClients.Update(c.Request().Context(), tenantOf(c), id, p, s.allowance(c))
	if err != nil {
		return err
	}
	return writeOne(c, http.StatusOK, toAPIClientView(ac))
}

func (s *Server) deleteAPIClient(c echo.Context) error {
	id, err := pathID(c, "id", apiclients.ErrNotFound)
	if err != nil {
		return err
	}
	if err := noQuery(c); err != nil {
		return err
	}
	if err := s.deps.APIClients.Delete(c.Request().Context(), tenantOf(c), id, s.allowance(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// revokeAPIClientTokens takes no document: an empty body, or {}.
func (s *Server) revokeAPIClientTokens(c echo.Context) error {
	id, err := pathID(c, "id", apiclients.ErrNotFound)
	if err != nil {
		return err
	}
	if err := noQuery(c); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	if b := bytes.TrimSpace(body); len(b) > 0 && string(b) != "{}" {
		return malformed("", "body_not_allowed", "revoke-tokens takes no request document; send an empty body")
	}
	if err := s.deps.APIClients.RevokeTokens(c.Request().Context(), tenantOf(c), id, s.allowance(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) listAPIClientSecrets(c echo.Context) error {
	id, err := pathID(c, "id", apiclients.ErrNotFound)
	if err != nil {
		return err
	}
	q, err := parseList(c, plainList)
	if err != nil {
		return err
	}
	secrets, err := s.deps.APIClients.Secrets(c.Request().Context(), tenantOf(c), id)
	if err != nil {
		return err
	}
	path := apiClientPath(c) + "/" + id.String()
	page := listing.Slice(secrets, q.Page, func(_ int, s apiclients.Secret) []string {
		return []string{s.CreatedAt.UTC().Format(sortableTime), s.ID.String()} // the store's order: created_at, id
	})
	return writeList(c, mapSlice(page.Items, toAPIClientSecretView(path)), q, page.Window)
}

// createAPIClientSecret returns the new secret this once.
func (s *Server) createAPIClientSecret(c echo.Context) error {
	id, err := pathID(c, "id", apiclients.ErrNotFound)
	if err != nil {
		return err
	}
	doc, err := readCreate(c, apiClientSecretSchema)
	if err != nil {
		return err
	}
	expiresAt := doc.timestamp("expires_at")
	if err := doc.err(); err != nil {
		return err
	}
	sec, plain, err := s.deps.APIClients.CreateSecret(c.Request().Context(), tenantOf(c), id, expiresAt, s.allowance(c))
	if err != nil {
		return err
	}
	path := apiClientPath(c) + "/" + id.String()
	v := toAPIClientSecretView(path)(sec)
	v.Secret = plain
	c.Response().Header().Set("Cache-Control", "no-store")
	return writeCreated(c, v.path, v)
}

func (s *Server) deleteAPIClientSecret(c echo.Context) error {
	id, err := pathID(c, "id", apiclients.ErrNotFound)
	if err != nil {
		return err
	}
	sid, err := pathID(c, "sid", apiclients.ErrSecretNotFound)
	if err != nil {
		return err
	}
	if err := noQuery(c); err != nil {
		return err
	}
	if err := s.deps.APIClients.DeleteSecret(c.Request().Context(), tenantOf(c), id, sid, s.allowance(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) listAPIClientTemplates(c echo.Context) error {
	q, err := parseList(c, plainList)
	if err != nil {
		return err
	}
	page := listing.Slice(apiclients.Templates(), q.Page, func(i int, _ apiclients.Template) []string {
		return []string{fmt.Sprintf("%06d", i)} // a fixed list: its position is its place
	})
	return writeList(c, mapSlice(page.Items, toAPIClientTemplateView), q, page.Window)
}

// sortableTime writes times so that their text sorts as they do.
const sortableTime = "2006-01-02T15:04:05.000000000Z"
