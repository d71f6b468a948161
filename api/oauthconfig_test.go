package api_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
)

// elastic.io's Pizza Van example: empty client fields and PIZZAVAN_KEY /
// PIZZAVAN_SECRET envVars.
const pizzaVanDescriptor = `{"envVars": {"PIZZAVAN_KEY": {"required": true, "description": "Your Pizza Van OAuth client key"},
  "PIZZAVAN_SECRET": {"required": true, "description": "Your Pizza Van OAuth client secret"}},
  "oauth2": {"client_id": "", "client_secret": "", "auth_uri": "https://auth_uri", "token_uri": "https://token_uri"},
  "useOAuthClient": true}`

// elastic.io's Outlook component.json head: oauth2 under credentials,
// {{VAR}} references, scopes.
const outlookDescriptor = `{"title": "Outlook",
  "envVars": {"MSAPP_CLIENT_ID": {"required": true, "description": "Your App Client ID"},
              "MSAPP_CLIENT_SECRET": {"required": true, "description": "Your App Client Secret"}},
  "credentials": {"fields": {"oauth": {"label": "Authentication", "viewClass": "OAuthFieldView", "required": true}},
    "oauth2": {"client_id": "{{MSAPP_CLIENT_ID}}", "client_secret": "{{MSAPP_CLIENT_SECRET}}",
      "auth_uri": "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
      "token_uri": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
      "scopes": ["openid","offline_access","User.Read","Contacts.Read","Profile","Calendars.ReadWrite"]}},
  "useOAuthClient": true}`

func rawDescriptor(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestOAuthConfigLegacyLink(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	owner := newMember(t, e, tid, []string{"owner"}, nil)
	platform := newMember(t, e, tid, []string{"platform"}, nil)
	admin := newMember(t, e, tid, []string{"admin"}, nil)

	cases := []struct {
		name, descriptor string
		want             map[string]any
	}{
		{"pizza van", pizzaVanDescriptor, map[string]any{
			"client_id": "pizza-van-client", "client_secret": "s3cr3t-from-the-provider",
			"auth_uri": "https://auth_uri", "token_uri": "https://token_uri", "refresh_token_uri": "https://token_uri",
			"scopes": []any{}, "client_auth": "body",
			"env": map[string]any{"PIZZAVAN_KEY": "pizza-van-client", "PIZZAVAN_SECRET": "s3cr3t-from-the-provider"}}},
		{"outlook", outlookDescriptor, map[string]any{
			"client_id": "pizza-van-client", "client_secret": "s3cr3t-from-the-provider",
			"auth_uri":          "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
			"token_uri":         "https://login.microsoftonline.com/common/oauth2/v2.0/token",
			"refresh_token_uri": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
			"scopes":            []any{"openid", "offline_access", "User.Read", "Contacts.Read", "Profile", "Calendars.ReadWrite"},
			"client_auth":       "body",
			"env":               map[string]any{"MSAPP_CLIENT_ID": "pizza-van-client", "MSAPP_CLIENT_SECRET": "s3cr3t-from-the-provider"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.For(t)
			cid := newComponent(t, e, tid, &owner, map[string]any{"descriptor": rawDescriptor(t, c.descriptor)})
			path := tenantPath(tid, "/components/"+cid+"/oauth-config")
			expectError(t, e.Get(path, &platform), http.StatusConflict, "oauth_client_required", "")
			client := mustOAuthClient(t, e, tid, &owner, cid, "pizza-van-client", "s3cr3t-from-the-provider")
			r := e.Get(path, &platform).ExpectStatus(t, http.StatusOK)
			if got := r.Data(t)["attributes"]; !reflect.DeepEqual(got, c.want) || r.ID(t) != cid || r.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("oauth-config = %v\nwant %v", got, c.want)
			}
			// Audited like a reveal, without the secret.
			ev := e.Get(tenantPath(tid, "/audit-events?filter[action]=oauth_client.reveal_secret&filter[resource_id]="+client), &owner).
				ExpectStatus(t, http.StatusOK).List(t)
			if len(ev) != 1 || attrOf(ev[0], "details").(map[string]any)["via"] != "oauth-config" ||
				strings.Contains(string(e.Get(tenantPath(tid, "/audit-events"), &owner).Body), "s3cr3t-from-the-provider") {
				t.Fatalf("audit events: %v", ev)
			}
			expectError(t, e.Get(path, &admin), http.StatusForbidden, "permission_denied", "")
		})
	}
	expectError(t, e.Get(tenantPath(tid, "/components/"+specNobody+"/oauth-config"), &owner), http.StatusNotFound, "component_not_found", "")

	// An ambiguous link is refused when the descriptor is written.
	r := e.Post(tenantPath(tid, "/components"), &owner, doc("component", map[string]any{"name": "ambiguous",
		"descriptor": rawDescriptor(t, `{"useOAuthClient": true, "envVars": {"PIZZAVAN_KEY": {}, "OAUTH_CLIENT_ID": {}, "PIZZAVAN_SECRET": {}}}`)}, nil))
	got := expectError(t, r, http.StatusUnprocessableEntity, "ambiguous_env_link", "/data/attributes/descriptor/envVars")
	if !strings.Contains(got["detail"].(string), "OAUTH_CLIENT_ID, PIZZAVAN_KEY") {
		t.Fatalf("the error does not name the envVars: %v", got)
	}
}
