package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/components"
	"github.com/oauthd/oauthd/internal/app"
	"github.com/oauthd/oauthd/oauthclients"
)

// selfComponent is the demo component whose provider is oauthd itself, so
// connecting an account works on one machine with nothing else running:
// its auth_uri and token_uri are this oauthd's, and the demo tenant's OAuth
// client for it is an API client of the same oauthd.
const selfComponent = "oauthd-self"

// seedSelfConnect ensures the oauthd-self component, the API client that
// plays the provider's client, and the tenant's OAuth client holding its
// credentials. It is idempotent: an existing component is left as it is.
func seedSelfConnect(ctx context.Context, a *app.App, tenantID uuid.UUID) (string, error) {
	if u, err := url.Parse(a.Issuer); err != nil || u.Port() == "0" {
		return "", nil // no address known before listening: nothing to point the component at
	}
	page, err := a.Components.Components(ctx, tenantID, components.Filter{}, defaultPage())
	if err != nil {
		return "", err
	}
	for _, c := range page.Items {
		if c.Name == selfComponent {
			return c.ID.String(), nil
		}
	}
	descriptor, _ := json.Marshal(map[string]any{
		"useOAuthClient": true,
		"envVars":        map[string]any{"OAUTHD_CLIENT_ID": map[string]any{"required": true}, "OAUTHD_CLIENT_SECRET": map[string]any{"required": true}},
		"oauth2": map[string]any{"client_id": "", "client_secret": "",
			"auth_uri": a.Issuer + "/oauth/authorize", "token_uri": a.Issuer + "/oauth/token",
			"scopes": []string{"tenants.oauth_clients.get"}, "client_auth": components.ClientAuthBasic},
	})
	comp, err := a.Components.CreateComponent(ctx, tenantID, true, components.NewComponent{Name: selfComponent,
		Visibility: components.VisibilityTenant, Descriptor: descriptor})
	if err != nil {
		return "", err
	}
	client, secret, err := a.APIClients.Create(ctx, tenantID, nil, apiclients.NewClient{Name: "oauthd-self-connector",
		ClientType: apiclients.TypeConfidential, GrantTypes: []string{apiclients.GrantAuthorizationCode, apiclients.GrantRefreshToken},
		Roles: []string{}, RedirectURIs: []string{a.Issuer + "/connect/callback"}, Scopes: []string{"tenants.oauth_clients.get"}}, nil)
	if err != nil {
		return "", err
	}
	if _, err := a.OAuthClients.Create(ctx, tenantID, oauthclients.NewClient{ClientID: client.ClientID, ClientSecret: secret,
		ComponentID: comp.ID.String()}); err != nil && !errors.Is(err, oauthclients.ErrExists) {
		return "", err
	}
	return comp.ID.String(), nil
}

// printConnect is the welcome's connection walk-through.
func printConnect(b *strings.Builder, base string, s *devState, d *demoData) {
	if d.SelfComponentID == "" {
		return
	}
	fmt.Fprintf(b, "Connect an account (oauthd is its own provider here: component %s %s):\n\n", selfComponent, d.SelfComponentID)
	fmt.Fprintf(b, "  curl %s/v2/tenants/%s/connections -X POST -u '%s:%s' -H 'Content-Type: application/json' \\\n"+
		"    -d '{\"data\":{\"type\":\"connection\",\"attributes\":{\"name\":\"my-account\"},"+
		"\"relationships\":{\"component\":{\"data\":{\"type\":\"component\",\"id\":\"%s\"}}}}}'\n\n",
		base, d.TenantID, s.Email, s.APIKey, d.SelfComponentID)
	fmt.Fprintf(b, "  then open its authorize_url in a browser, sign in with the email and password above, approve, and:\n\n")
	fmt.Fprintf(b, "  curl %s/v2/tenants/%s/connections/<id>/access-token -X POST -u '%s:%s'\n\n", base, d.TenantID, s.Email, s.APIKey)
}
