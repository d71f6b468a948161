package authserver_test

import (
	"testing"
	"time"

	"github.com/oauthd/oauthd/authserver"
)

// revoke-tokens compares the time in a token's jti with the database's
// now(): an instance whose clock is off from the database's must neither
// let a token issued before the revocation through (clock ahead) nor
// refuse one issued after it (clock behind).
func TestRevokeTokensDespiteClockSkew(t *testing.T) {
	const skew = 5 * time.Second

	t.Run("instance clock ahead", func(t *testing.T) {
		g := newGrantsEnv(t)
		authserver.SetLocalClockForTests(g.grants, func() time.Time { return time.Now().Add(skew) })
		c := g.client(t)
		before, err := g.grants.IssueClientCredentials(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		exec(t, g.in.db, `UPDATE api_clients SET tokens_valid_after = clock_timestamp() WHERE id = $1`, c.PK)
		if g.good(t, before.AccessToken) {
			t.Fatalf("a token issued before revoke-tokens by an instance %v ahead survived it", skew)
		}
	})

	t.Run("instance clock behind", func(t *testing.T) {
		g := newGrantsEnv(t)
		authserver.SetLocalClockForTests(g.grants, func() time.Time { return time.Now().Add(-skew) })
		c := g.client(t)
		// A revoke-tokens a second ago, by the database's clock.
		exec(t, g.in.db, `UPDATE api_clients SET tokens_valid_after = clock_timestamp() - interval '1 second' WHERE id = $1`, c.PK)
		after, err := g.grants.IssueClientCredentials(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !g.good(t, after.AccessToken) {
			t.Fatalf("a token issued after revoke-tokens by an instance %v behind was refused", skew)
		}
		// The JWT's own times stay the instance's (what verifiers compare
		// exp with); only the jti's revocation stamp is the database's.
		if cl := g.parse(t, after.AccessToken); cl.IssuedAt > time.Now().Add(-skew/2).Unix() {
			t.Fatalf("iat %d is not the instance's clock", cl.IssuedAt)
		}
	})
}
