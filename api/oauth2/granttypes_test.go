package oauth2_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/apiclients"
)

// TestEveryGrantTypeIsServed: the one list of grant types
// (apiclients.GrantTypes) is what the metadata advertises, and the token
// endpoint has an exchange for each: none answers unsupported_grant_type.
func TestEveryGrantTypeIsServed(t *testing.T) {
	e := apitest.New(t)
	tid := e.Post("/v2/tenants", &e.Super, doc("tenant", map[string]any{"name": "acme"})).ExpectStatus(t, http.StatusCreated).ID(t)
	c := apitest.NewAPIClient(t, e, tid, apiclients.NewClient{GrantTypes: apiclients.GrantTypes(),
		RedirectURIs: []string{apitest.RedirectURI}, Roles: []string{"viewer"}})
	for _, g := range apiclients.GrantTypes() {
		a := apitest.PostForm(t, e, "/oauth/token", c.PostCreds(url.Values{"grant_type": {g}}))
		if a.Str("error") == "unsupported_grant_type" || a.Status >= 500 {
			t.Errorf("grant_type %s: %d %s", g, a.Status, a.Raw)
		}
	}
	meta := e.Get("/.well-known/oauth-authorization-server", nil).ExpectStatus(t, http.StatusOK).Doc(t)
	advertised, _ := meta["grant_types_supported"].([]any)
	if len(advertised) != len(apiclients.GrantTypes()) {
		t.Errorf("grant_types_supported %v, want %v", advertised, apiclients.GrantTypes())
	}
	for i, g := range apiclients.GrantTypes() {
		if i < len(advertised) && advertised[i] != g {
			t.Errorf("grant_types_supported %v, want %v", advertised, apiclients.GrantTypes())
		}
	}
}
