package authserver_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/authserver"
)

// A user's tokens are good only while the user is a member of the token's
// tenant: removed from it, or deleted, the access tokens fail the check, a
// refresh is invalid_grant and revokes the family for good, and codes and
// device approvals the user gave mint nothing.
func TestUserTokensLiveWhileMember(t *testing.T) {
	g := newGrantsEnv(t)
	c := g.client(t)
	ctx := context.Background()
	issue := func(user uuid.UUID) *authserver.TokenSet {
		t.Helper()
		code, err := g.grants.CreateCode(ctx, c, authserver.CodeRequest{UserID: user, RedirectURI: "https://a.test/cb"})
		if err != nil {
			t.Fatal(err)
		}
		ts, err := g.grants.RedeemCode(ctx, c, code, "https://a.test/cb", "", true)
		if err != nil {
			t.Fatalf("redeem: %v", err)
		}
		if !g.good(t, ts.AccessToken) {
			t.Fatal("a member's fresh token fails")
		}
		return ts
	}
	removeMember := func(user uuid.UUID) {
		t.Helper()
		exec(t, g.in.db, `DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2`, g.tenant, user)
	}
	cc, err := g.grants.IssueClientCredentials(c, nil)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("removed from the tenant", func(t *testing.T) {
		user := g.member(t)
		ts := issue(user)
		// An approval given before the removal, redeemed after it.
		code, err := g.grants.CreateCode(ctx, c, authserver.CodeRequest{UserID: user, RedirectURI: "https://a.test/cb"})
		if err != nil {
			t.Fatal(err)
		}
		start, err := g.grants.StartDevice(ctx, c, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.grants.DecideDevice(ctx, start.UserCode, user, true); err != nil {
			t.Fatal(err)
		}

		removeMember(user)
		if g.good(t, ts.AccessToken) {
			t.Fatal("the token of a user removed from the tenant passes")
		}
		if _, err := g.grants.Refresh(ctx, c, ts.RefreshToken, nil); !errors.Is(err, authserver.ErrInvalidGrant) {
			t.Fatalf("refresh for a removed user: %v, want invalid_grant", err)
		}
		if _, err := g.grants.RedeemCode(ctx, c, code, "https://a.test/cb", "", true); !errors.Is(err, authserver.ErrInvalidGrant) {
			t.Fatalf("code approved before the removal: %v, want invalid_grant", err)
		}
		if _, err := g.grants.PollDevice(ctx, c, start.DeviceCode, true); !errors.Is(err, authserver.ErrInvalidGrant) {
			t.Fatalf("device approved before the removal: %v, want invalid_grant", err)
		}
		// Added again: the refresh attempt revoked the family for good.
		exec(t, g.in.db, `INSERT INTO memberships (tenant_id, user_id) VALUES ($1, $2)`, g.tenant, user)
		if g.good(t, ts.AccessToken) {
			t.Fatal("the family a refresh found without its member came back")
		}
		if _, err := g.grants.Refresh(ctx, c, ts.RefreshToken, nil); !errors.Is(err, authserver.ErrInvalidGrant) {
			t.Fatalf("refresh after coming back: %v, want invalid_grant", err)
		}
		issue(user) // a new authorization works
	})

	t.Run("deleted", func(t *testing.T) {
		user := g.member(t)
		ts := issue(user)
		exec(t, g.in.db, `DELETE FROM users WHERE id = $1`, user)
		if g.good(t, ts.AccessToken) {
			t.Fatal("a deleted user's token passes")
		}
		if _, err := g.grants.Refresh(ctx, c, ts.RefreshToken, nil); !errors.Is(err, authserver.ErrInvalidGrant) {
			t.Fatalf("refresh for a deleted user: %v, want invalid_grant", err)
		}
	})

	t.Run("another member's tokens and the client's own are untouched", func(t *testing.T) {
		ts := issue(g.member(t))
		removeMember(g.member(t))
		if !g.good(t, ts.AccessToken) || !g.good(t, cc.AccessToken) {
			t.Fatal("removing one member revoked others' tokens")
		}
		if _, err := g.grants.Refresh(ctx, c, ts.RefreshToken, nil); err != nil {
			t.Fatalf("another member's refresh: %v", err)
		}
	})
}
