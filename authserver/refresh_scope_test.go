package authserver_test

import (
	"context"
	"errors"
	"testing"

	"github.com/oauthd/oauthd/authserver"
)

// A refresh narrows a grant's scope under the same rule as the token
// endpoint: a permission a granted pattern covers may be asked for, one
// outside it may not.
func TestRefreshNarrowsUnderThePolicyRule(t *testing.T) {
	g := newGrantsEnv(t)
	c := g.client(t)
	ctx := context.Background()
	code, err := g.grants.CreateCode(ctx, c, authserver.CodeRequest{UserID: g.member(t), RedirectURI: "https://a.test/cb",
		Scopes: []string{"tenants.flows.*"}, CodeChallenge: pkce(verifier)})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := g.grants.RedeemCode(ctx, c, code, "https://a.test/cb", verifier, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.grants.Refresh(ctx, c, ts.RefreshToken, []string{"tenants.members.get"}); !errors.Is(err, authserver.ErrInvalidScope) {
		t.Fatalf("widening on refresh: %v, want invalid_scope", err)
	}
	narrowed, err := g.grants.Refresh(ctx, c, ts.RefreshToken, []string{"tenants.flows.get"})
	if err != nil {
		t.Fatalf("narrowing to a permission the pattern covers: %v", err)
	}
	if narrowed.Scope != "tenants.flows.get" {
		t.Errorf("scope %q, want tenants.flows.get", narrowed.Scope)
	}
}
