package api_test

import (
	"context"
	"net/http"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/oauthd/oauthd/api/apitest"
)

// Tokens from the token endpoint, got by golang.org/x/oauth2's client
// credentials flow in both authentication styles, verify with go-jose and
// the key /.well-known/jwks.json publishes, and oauthd itself takes them
// as bearer tokens and introspects them as active. Twenty of them, so that
// signatures whose r or s is shorter than 32 bytes come by too.
func TestIssuedTokensVerifyWithTheJWKS(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	cl := apitest.MachineClient(t, e, tid, "viewer")
	introspector := apitest.MachineClient(t, e, tid, "viewer")
	ctx := e.OAuth2Context(context.Background())
	for i := 0; i < 20; i++ {
		style := oauth2.AuthStyleInParams
		if i%2 == 1 {
			style = oauth2.AuthStyleInHeader
		}
		cfg := &clientcredentials.Config{ClientID: cl.Client.ClientID, ClientSecret: cl.Secret, TokenURL: e.URL("/oauth/token"), AuthStyle: style}
		tok, err := cfg.Token(ctx)
		if err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		asCheckJWT(t, e, tok.AccessToken, cl)
		apitest.Bearer(t, e, http.MethodGet, "/v2/tenants/"+tid+"/oauth-clients", tok.AccessToken, nil).ExpectStatus(t, http.StatusOK)
		if a := apitest.Introspect(t, e, introspector, tok.AccessToken); a.Status != http.StatusOK || a.JSON["active"] != true {
			t.Fatalf("introspection of token %d: %d %s", i, a.Status, a.Raw)
		}
	}
}
