package authserver_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/authserver"
)

// Nobody grants a right they lack: a consent carries only what its user
// holds, whatever the client asks for, on the code path and the device
// path alike.
func TestConsentGrantsOnlyWhatTheUserHolds(t *testing.T) {
	g := newGrantsEnv(t)
	ctx := context.Background()
	c := g.client(t)
	viewer := g.memberWithRole(t, "viewer")
	asked := []string{"tenants.*", "tenants.flows.get", "role:admin"}
	wantGranted := []string{"tenants.oauth_clients.get", "tenants.components.get", "tenants.flows.get",
		"tenants.api_clients.get", "tenants.members.get", "tenants.connections.get"}

	consent, err := g.grants.ConsentFor(g.tenant, viewer, asked)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range wantGranted {
		if !slices.Contains(consent.Granted, p) {
			t.Errorf("granted %v lacks %s", consent.Granted, p)
		}
	}
	for _, s := range consent.Granted {
		if !slices.Contains(wantGranted, s) {
			t.Errorf("granted %s, which the viewer does not hold", s)
		}
	}
	if !slices.Contains(consent.Withheld, "tenants.oauth_clients.reveal_secret") || !slices.Contains(consent.Withheld, "tenants.members.edit") {
		t.Errorf("withheld %v", consent.Withheld)
	}

	// The code carries the narrowed scope, whatever the page was sent.
	code, err := g.grants.CreateCode(ctx, c, authserver.CodeRequest{UserID: viewer, RedirectURI: "https://a.test/cb", Scopes: asked})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := g.grants.RedeemCode(ctx, c, code, "https://a.test/cb", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(ts.Scope); !sameSet(got, wantGranted) {
		t.Errorf("token scope %q, want %v", ts.Scope, wantGranted)
	}

	// The device approval too.
	start, err := g.grants.StartDevice(ctx, c, asked)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.grants.DecideDevice(ctx, start.UserCode, viewer, true); err != nil {
		t.Fatal(err)
	}
	dts, err := g.grants.PollDevice(ctx, c, start.DeviceCode, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(dts.Scope); !sameSet(got, wantGranted) {
		t.Errorf("device token scope %q, want %v", dts.Scope, wantGranted)
	}

	// A member who holds none of it has nothing to grant; nothing is
	// issued and the device code stays pending.
	nobody := g.memberWithRole(t, "platform")
	_, err = g.grants.CreateCode(ctx, c, authserver.CodeRequest{UserID: nobody, RedirectURI: "https://a.test/cb",
		Scopes: []string{"tenants.members.*"}})
	if missing, ok := authserver.IsNothingToGrant(err); !ok || missing != "tenants.members.get" {
		t.Errorf("code for a user with nothing to grant: %v", err)
	}
	start, err = g.grants.StartDevice(ctx, c, []string{"tenants.members.*"})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.grants.DecideDevice(ctx, start.UserCode, nobody, true); err == nil {
		t.Error("device approved by a user with nothing to grant")
	}
	if _, err := g.grants.LookupUserCode(ctx, start.UserCode); err != nil {
		t.Errorf("the refused device code is no longer pending: %v", err)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
