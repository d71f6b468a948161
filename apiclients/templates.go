package apiclients

import "slices"

// Template is a ready-made starting point for a client. A create that names
// one takes its values for every attribute it does not give itself.
type Template struct {
	ID           string
	Name         string
	Description  string
	ClientType   string
	GrantTypes   []string
	RedirectURIs []string
	Scopes       []string
	RequirePKCE  bool
}

var templates = []Template{
	{
		ID:   "oauthd-cli",
		Name: "oauthd CLI",
		Description: "The oauthd command-line tool: a public client (no secret) that signs in with the device flow " +
			"or a browser redirect to a loopback address, always with PKCE, and keeps its session with refresh tokens.",
		ClientType:   TypePublic,
		GrantTypes:   []string{GrantDeviceCode, GrantAuthorizationCode, GrantRefreshToken},
		RedirectURIs: []string{"http://127.0.0.1/callback"},
		Scopes:       []string{"tenants.*"},
		RequirePKCE:  true,
	},
	{
		ID:   "service-account",
		Name: "Service account",
		Description: "A backend service or CI job calling the API as itself with client credentials (Encore's OAuth clients). " +
			"Give it roles; the secret is shown once.",
		ClientType:   TypeConfidential,
		GrantTypes:   []string{GrantClientCredentials},
		RedirectURIs: []string{},
		Scopes:       []string{},
	},
	{
		ID:   "web-app",
		Name: "Web application",
		Description: "A server-side web application acting for signed-in users with the authorization code flow " +
			"and refresh tokens. Add its https redirect URIs.",
		ClientType:   TypeConfidential,
		GrantTypes:   []string{GrantAuthorizationCode, GrantRefreshToken},
		RedirectURIs: []string{},
		Scopes:       []string{"tenants.*"},
		RequirePKCE:  true,
	},
}

// Templates lists the client templates, in a stable order. The slices are
// copies: callers may change them.
func Templates() []Template {
	out := make([]Template, len(templates))
	for i, t := range templates {
		out[i] = t.clone()
	}
	return out
}

func templateByID(id string) (Template, bool) {
	for _, t := range templates {
		if t.ID == id {
			return t.clone(), true
		}
	}
	return Template{}, false
}

func (t Template) clone() Template {
	t.GrantTypes = slices.Clone(t.GrantTypes)
	t.RedirectURIs = slices.Clone(t.RedirectURIs)
	t.Scopes = slices.Clone(t.Scopes)
	return t
}

// apply fills what in leaves out from t.
func (t Template) apply(in NewClient) NewClient {
	if in.Name == "" {
		in.Name = t.Name
	}
	if in.ClientType == "" {
		in.ClientType = t.ClientType
	}
	if in.GrantTypes == nil {
		in.GrantTypes = t.GrantTypes
	}
	if in.RedirectURIs == nil {
		in.RedirectURIs = t.RedirectURIs
	}
	if in.Scopes == nil {
		in.Scopes = t.Scopes
	}
	in.RequirePKCE = in.RequirePKCE || t.RequirePKCE
	return in
}
