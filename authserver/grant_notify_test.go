package authserver_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oauthd/oauthd/authserver"
	"github.com/oauthd/oauthd/internal/testdb"
)

// Issuing tokens under a grant moves the grant's expires_at, which only the
// purge reads. It must not tell every instance that something deciding a
// credential changed (NOTIFY oauthd_authz), or each code exchange and
// refresh would empty the basic-auth, credentials and revocation-state
// caches of every instance. Notifications arrive in commit order, so a
// marker sent after the tokens must be the first one heard.
func TestIssuingUnderAGrantNotifiesNoInstance(t *testing.T) {
	ctx := context.Background()
	url := testdb.New(t)
	g := newGrantsEnvOn(t, url)
	c := g.client(t)
	code, _ := g.grants.CreateCode(ctx, c, authserver.CodeRequest{UserID: g.member(t), RedirectURI: "https://a.test/cb",
		Scopes: []string{"tenants.flows.get"}})

	listener, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = listener.Close(context.Background()) })
	if _, err := listener.Exec(ctx, "LISTEN oauthd_authz"); err != nil {
		t.Fatal(err)
	}
	t0, err := g.grants.RedeemCode(ctx, c, code, "https://a.test/cb", "", true)
	if err != nil {
		t.Fatal(err)
	}
	t1, err := g.grants.Refresh(ctx, c, t0.RefreshToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.grants.Refresh(ctx, c, t1.RefreshToken, nil); err != nil {
		t.Fatal(err)
	}
	var moved bool
	if err := g.in.db.SQL().QueryRow(`SELECT expires_at > created_at FROM grants WHERE tenant_id = $1`, g.tenant).Scan(&moved); err != nil || !moved {
		t.Fatalf("the grant's expires_at did not move (%v): nothing was tested", err)
	}
	exec(t, g.in.db, `SELECT pg_notify('oauthd_authz', 'marker')`)
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, err := listener.WaitForNotification(wait)
	if err != nil {
		t.Fatal(err)
	}
	if n.Payload != "marker" {
		t.Fatalf("issuing tokens under a grant notified oauthd_authz (%q) before the marker", n.Payload)
	}

	// Revoking the grant still notifies.
	exec(t, g.in.db, `UPDATE grants SET revoked_at = now() WHERE tenant_id = $1`, g.tenant)
	if n, err = listener.WaitForNotification(wait); err != nil || n.Payload != "grants" {
		t.Fatalf("revoking the grant: %+v, %v; want a notification from grants", n, err)
	}
}
