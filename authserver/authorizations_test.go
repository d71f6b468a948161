package authserver_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/authserver"
)

// recorded is an audit Recorder that keeps what it is given.
type recorded struct{ actions []string }

func (r *recorded) Record(_ context.Context, _ uuid.UUID, action, _, _ string, _ map[string]any) error {
	r.actions = append(r.actions, action)
	return nil
}

// approve runs a code exchange for user at c with scopes, as the consent
// page and the token endpoint do.
func (g *grantsEnv) approve(t *testing.T, c authserver.Client, user uuid.UUID, scopes ...string) *authserver.TokenSet {
	t.Helper()
	ctx := context.Background()
	code, err := g.grants.CreateCode(ctx, c, authserver.CodeRequest{UserID: user, RedirectURI: "https://a.test/cb", Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := g.grants.RedeemCode(ctx, c, code, "https://a.test/cb", "", true)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestAuthorizationsListAndRevoke(t *testing.T) {
	g := newGrantsEnv(t)
	rec := &recorded{}
	g.grants.WithAudit(rec)
	ctx := context.Background()
	app, other := g.client(t), g.client(t)
	user, someoneElse := g.member(t), g.member(t)

	first := g.approve(t, app, user, "tenants.flows.get")
	second := g.approve(t, app, user, "tenants.flows.get", "role:viewer")
	kept := g.approve(t, other, user, "tenants.components.get")
	theirs := g.approve(t, app, someoneElse, "tenants.flows.get")
	// A code approved but not yet exchanged, and a device approval not yet
	// collected, are part of what the user let the application do.
	pending, err := g.grants.CreateCode(ctx, app, authserver.CodeRequest{UserID: user, RedirectURI: "https://a.test/cb"})
	if err != nil {
		t.Fatal(err)
	}
	dev, err := g.grants.StartDevice(ctx, app, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.grants.DecideDevice(ctx, dev.UserCode, user, true); err != nil {
		t.Fatal(err)
	}

	list, err := g.grants.Authorizations(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("authorizations = %+v, want one per application", list)
	}
	byClient := map[uuid.UUID]authserver.Authorization{}
	for _, a := range list {
		byClient[a.ClientPK] = a
	}
	a := byClient[app.PK]
	if a.ClientID != app.ClientID || a.ClientName != "c" || a.TenantID != g.tenant || a.TenantName == "" ||
		!slices.Equal(a.Scopes, []string{"tenants.flows.get", "role:viewer"}) || a.FirstAt.After(a.LastAt) {
		t.Errorf("authorization of the app = %+v", a)
	}

	if err := g.grants.RevokeAuthorization(ctx, user, g.tenant, app.PK); err != nil {
		t.Fatal(err)
	}
	for name, ts := range map[string]*authserver.TokenSet{"first": first, "second": second} {
		if g.good(t, ts.AccessToken) {
			t.Errorf("%s access token still good after the revocation", name)
		}
		if _, err := g.grants.Refresh(ctx, app, ts.RefreshToken, nil); !errors.Is(err, authserver.ErrInvalidGrant) {
			t.Errorf("%s refresh token: %v, want invalid_grant", name, err)
		}
	}
	if _, err := g.grants.RedeemCode(ctx, app, pending, "https://a.test/cb", "", false); !errors.Is(err, authserver.ErrInvalidGrant) {
		t.Errorf("pending code after the revocation: %v, want invalid_grant", err)
	}
	if _, err := g.grants.PollDevice(ctx, app, dev.DeviceCode, false); !errors.Is(err, authserver.ErrAccessDenied) {
		t.Errorf("device approval after the revocation: %v, want access_denied", err)
	}
	// Nothing else moved: the user's other application, and another user's
	// grant to the same application.
	if !g.good(t, kept.AccessToken) || !g.good(t, theirs.AccessToken) {
		t.Error("a revocation reached another application's or another user's tokens")
	}
	if list, _ := g.grants.Authorizations(ctx, user); len(list) != 1 || list[0].ClientPK != other.PK {
		t.Errorf("after the revocation: %+v, want only the other application", list)
	}
	if !slices.Equal(rec.actions, []string{"authorization.revoke"}) {
		t.Errorf("audit = %v", rec.actions)
	}

	// Revoking again, or another tenant's client, finds nothing.
	if err := g.grants.RevokeAuthorization(ctx, user, g.tenant, app.PK); !errors.Is(err, authserver.ErrNoAuthorization) {
		t.Errorf("second revocation: %v", err)
	}
	if err := g.grants.RevokeAuthorization(ctx, user, uuid.New(), other.PK); !errors.Is(err, authserver.ErrNoAuthorization) {
		t.Errorf("wrong tenant: %v", err)
	}
}

func TestAuthorizationsLeaveOutDeadGrants(t *testing.T) {
	g := newGrantsEnv(t)
	ctx := context.Background()
	app := g.client(t)
	user := g.member(t)
	g.approve(t, app, user)
	// A grant whose refresh chain was used up and whose access tokens have
	// expired can do nothing: it is not listed.
	exec(t, g.in.db, `UPDATE refresh_tokens SET used_at = now(), created_at = now() - interval '2 hours'`)
	exec(t, g.in.db, `UPDATE grants SET created_at = now() - interval '2 hours'`)
	if list, err := g.grants.Authorizations(ctx, user); err != nil || len(list) != 0 {
		t.Errorf("dead grant listed: %+v, %v", list, err)
	}
	// A user who left the tenant has authorized nothing there any more.
	g.approve(t, app, user)
	if list, _ := g.grants.Authorizations(ctx, user); len(list) != 1 {
		t.Fatalf("live grant not listed: %+v", list)
	}
	exec(t, g.in.db, `DELETE FROM memberships WHERE user_id = $1`, user)
	if list, _ := g.grants.Authorizations(ctx, user); len(list) != 0 {
		t.Errorf("grant of a former member listed: %+v", list)
	}
}
