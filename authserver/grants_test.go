package authserver_test

// The grant layer against a real database: codes, refresh-token families,
// device codes and the one-query revocation check.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/authserver"
	"github.com/oauthd/oauthd/internal/jobs"
	"github.com/oauthd/oauthd/internal/purge"
	"github.com/oauthd/oauthd/internal/testdb"
	"github.com/oauthd/oauthd/policy"
)

type grantsEnv struct {
	in       *instance
	grants   *authserver.Grants
	enforcer *policy.Enforcer
	tenant   uuid.UUID
}

func newGrantsEnv(t *testing.T) *grantsEnv {
	t.Helper()
	return newGrantsEnvOn(t, testdb.New(t))
}

// newGrantsEnvOn is newGrantsEnv on the database at url, for a test that
// also connects to it by itself.
func newGrantsEnvOn(t *testing.T, url string) *grantsEnv {
	t.Helper()
	in := ensured(t, url, authserver.KeyOptions{})
	enforcer, err := policy.NewEnforcer(in.db)
	if err != nil {
		t.Fatal(err)
	}
	g := &grantsEnv{in: in, grants: authserver.NewGrants(in.db, in.keys, enforcer, issuer, authserver.DefaultLifetimes()),
		enforcer: enforcer, tenant: uuid.New()}
	exec(t, in.db, `INSERT INTO tenants (id, name) VALUES ($1, $2)`, g.tenant, "t-"+g.tenant.String())
	return g
}

// client inserts an API client row and returns the grant layer's view.
func (g *grantsEnv) client(t *testing.T) authserver.Client {
	t.Helper()
	c := authserver.Client{TenantID: g.tenant, PK: uuid.New(), ClientID: "o2c_" + uuid.NewString()}
	exec(t, g.in.db, `INSERT INTO api_clients (tenant_id, id, client_id, name, client_type) VALUES ($1, $2, $3, 'c', 'confidential')`,
		c.TenantID, c.PK, c.ClientID)
	return c
}

// member inserts a user who is an owner of the tenant: a user's tokens are
// good only while the membership lasts, and carry no more than the user
// holds.
func (g *grantsEnv) member(t *testing.T) uuid.UUID {
	t.Helper()
	return g.memberWithRole(t, "owner")
}

func (g *grantsEnv) memberWithRole(t *testing.T, role string) uuid.UUID {
	t.Helper()
	id := uuid.New()
	exec(t, g.in.db, `INSERT INTO users (id, email) VALUES ($1, $2)`, id, id.String()+"@example.test")
	exec(t, g.in.db, `INSERT INTO memberships (tenant_id, user_id) VALUES ($1, $2)`, g.tenant, id)
	if err := g.enforcer.SetGrants(context.Background(), g.tenant, id, policy.Grants{Roles: []string{role}}); err != nil {
		t.Fatal(err)
	}
	if err := g.enforcer.Sync(); err != nil {
		t.Fatal(err)
	}
	return id
}

func (g *grantsEnv) parse(t *testing.T, token string) *authserver.AccessClaims {
	t.Helper()
	c, err := g.in.keys.ParseAccessToken(context.Background(), token, issuer)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return c
}

// good reports whether the token passes the revocation check.
func (g *grantsEnv) good(t *testing.T, token string) bool {
	t.Helper()
	_, err := g.grants.Check(context.Background(), g.parse(t, token))
	if err != nil && !errors.Is(err, authserver.ErrRevoked) {
		t.Fatalf("check: %v", err)
	}
	return err == nil
}

func pkce(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func tokenDigest(s string) []byte { sum := sha256.Sum256([]byte(s)); return sum[:] }

const verifier = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"

func TestCodeRedeemedOnceUnderConcurrency(t *testing.T) {
	g := newGrantsEnv(t)
	c := g.client(t)
	ctx := context.Background()
	user := g.member(t)
	code, err := g.grants.CreateCode(ctx, c, authserver.CodeRequest{UserID: user, RedirectURI: "https://a.test/cb",
		Scopes: []string{"tenants.flows.get"}, CodeChallenge: pkce(verifier)})
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	var wg sync.WaitGroup
	sets := make([]*authserver.TokenSet, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { sets[i], errs[i] = g.grants.RedeemCode(ctx, c, code, "https://a.test/cb", verifier, true) })
	}
	wg.Wait()
	var won *authserver.TokenSet
	for i := range n {
		switch {
		case errs[i] == nil:
			if won != nil {
				t.Fatal("two exchanges of one code succeeded")
			}
			won = sets[i]
		case !errors.Is(errs[i], authserver.ErrInvalidGrant):
			t.Fatalf("exchange %d: %v", i, errs[i])
		}
	}
	if won == nil {
		t.Fatal("no exchange succeeded")
	}
	cl := g.parse(t, won.AccessToken)
	if cl.UserID != user.String() || cl.Subject != user.String() || cl.GrantID == "" || cl.Scope != "tenants.flows.get" ||
		won.ExpiresIn != 900 || won.RefreshToken == "" {
		t.Fatalf("issued %+v claims %+v", won, cl)
	}
	// The losers were replays: the winner's tokens are revoked by now.
	if g.good(t, won.AccessToken) {
		t.Fatal("a replayed code did not revoke the tokens of the first exchange")
	}
	if _, err := g.grants.Refresh(ctx, c, won.RefreshToken, nil); !errors.Is(err, authserver.ErrInvalidGrant) {
		t.Fatalf("refresh after code replay: %v", err)
	}
}

func TestCodeBindings(t *testing.T) {
	g := newGrantsEnv(t)
	c, other := g.client(t), g.client(t)
	ctx := context.Background()
	mk := func(challenge string) string {
		code, err := g.grants.CreateCode(ctx, c, authserver.CodeRequest{UserID: g.member(t), RedirectURI: "https://a.test/cb", CodeChallenge: challenge})
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	cases := []struct {
		name, challenge, redirect, verifier string
		client                              authserver.Client
	}{
		{"other client", pkce(verifier), "https://a.test/cb", verifier, other},
		{"wrong redirect", pkce(verifier), "https://a.test/cb2", verifier, c},
		{"wrong verifier", pkce(verifier), "https://a.test/cb", verifier + "x", c},
		{"missing verifier", pkce(verifier), "https://a.test/cb", "", c},
		{"verifier without challenge", "", "https://a.test/cb", verifier, c},
		{"plain challenge", verifier, "https://a.test/cb", verifier, c},
	}
	for _, tc := range cases {
		code := mk(tc.challenge)
		if _, err := g.grants.RedeemCode(ctx, tc.client, code, tc.redirect, tc.verifier, false); !errors.Is(err, authserver.ErrInvalidGrant) {
			t.Errorf("%s: %v, want invalid grant", tc.name, err)
		}
	}
	// Expired (the row's clock moved back).
	code := mk("")
	exec(t, g.in.db, `UPDATE authorization_codes SET expires_at = now() - interval '1 millisecond' WHERE digest = $1`, tokenDigest(code))
	if _, err := g.grants.RedeemCode(ctx, c, code, "https://a.test/cb", "", false); !errors.Is(err, authserver.ErrInvalidGrant) {
		t.Errorf("expired code: %v", err)
	}
	// Without refresh: no refresh token, the 1 h lifetime.
	ts, err := g.grants.RedeemCode(ctx, c, mk(""), "https://a.test/cb", "", false)
	if err != nil || ts.RefreshToken != "" || ts.ExpiresIn != 3600 {
		t.Fatalf("without refresh: %+v %v", ts, err)
	}
}

func TestRefreshFamily(t *testing.T) {
	g := newGrantsEnv(t)
	c, other := g.client(t), g.client(t)
	ctx := context.Background()
	code, _ := g.grants.CreateCode(ctx, c, authserver.CodeRequest{UserID: g.member(t), RedirectURI: "https://a.test/cb",
		Scopes: []string{"tenants.flows.get", "tenants.flows.edit"}})
	t0, err := g.grants.RedeemCode(ctx, c, code, "https://a.test/cb", "", true)
	if err != nil {
		t.Fatal(err)
	}
	// Another client presenting it neither succeeds nor burns it.
	if _, err := g.grants.Refresh(ctx, other, t0.RefreshToken, nil); !errors.Is(err, authserver.ErrInvalidGrant) {
		t.Fatalf("other client: %v", err)
	}
	// Narrowing works; widening does not (and does not burn the token).
	if _, err := g.grants.Refresh(ctx, c, t0.RefreshToken, []string{"tenants.flows.delete"}); !errors.Is(err, authserver.ErrInvalidScope) {
		t.Fatalf("widening: %v", err)
	}
	t1, err := g.grants.Refresh(ctx, c, t0.RefreshToken, []string{"tenants.flows.get"})
	if err != nil || t1.Scope != "tenants.flows.get" {
		t.Fatalf("narrowing refresh: %+v %v", t1, err)
	}
	t2, err := g.grants.Refresh(ctx, c, t1.RefreshToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	if t2.Scope != "tenants.flows.edit tenants.flows.get" && t2.Scope != "tenants.flows.get tenants.flows.edit" {
		// A refresh without scope gets the grant's scope (RFC 6749 §6).
		t.Fatalf("scope after refresh without scope: %q", t2.Scope)
	}
	if !g.good(t, t2.AccessToken) || !g.good(t, t1.AccessToken) {
		t.Fatal("live family's tokens fail")
	}
	// Reuse of t0's (used) refresh token kills the family.
	if _, err := g.grants.Refresh(ctx, c, t0.RefreshToken, nil); !errors.Is(err, authserver.ErrInvalidGrant) {
		t.Fatalf("reuse: %v", err)
	}
	if g.good(t, t2.AccessToken) || g.good(t, t0.AccessToken) {
		t.Fatal("reuse did not revoke the family's access tokens")
	}
	if _, err := g.grants.Refresh(ctx, c, t2.RefreshToken, nil); !errors.Is(err, authserver.ErrInvalidGrant) {
		t.Fatalf("newest refresh after reuse: %v", err)
	}
	// Expired refresh tokens fail.
	code, _ = g.grants.CreateCode(ctx, c, authserver.CodeRequest{UserID: g.member(t), RedirectURI: "https://a.test/cb"})
	t3, _ := g.grants.RedeemCode(ctx, c, code, "https://a.test/cb", "", true)
	exec(t, g.in.db, `UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE digest = $1`, tokenDigest(t3.RefreshToken))
	if _, err := g.grants.Refresh(ctx, c, t3.RefreshToken, nil); !errors.Is(err, authserver.ErrInvalidGrant) {
		t.Fatalf("expired refresh: %v", err)
	}
	var days float64
	code, _ = g.grants.CreateCode(ctx, c, authserver.CodeRequest{UserID: g.member(t), RedirectURI: "https://a.test/cb"})
	t4, _ := g.grants.RedeemCode(ctx, c, code, "https://a.test/cb", "", true)
	if err := g.in.db.SQL().QueryRow(`SELECT extract(epoch FROM expires_at - now()) / 86400 FROM refresh_tokens WHERE digest = $1`,
		tokenDigest(t4.RefreshToken)).Scan(&days); err != nil || days < 29.9 || days > 30.1 {
		t.Fatalf("refresh lifetime %v days (%v), want 30", days, err)
	}
}

func TestDevicePolling(t *testing.T) {
	g := newGrantsEnv(t)
	c := g.client(t)
	ctx := context.Background()
	start, err := g.grants.StartDevice(ctx, c, []string{"tenants.flows.get"})
	if err != nil {
		t.Fatal(err)
	}
	if start.Interval != 5 || start.ExpiresIn != 600 {
		t.Fatalf("start %+v", start)
	}
	poll := func() error { _, err := g.grants.PollDevice(ctx, c, start.DeviceCode, true); return err }
	rewind := func() { // as if the (grown) interval had passed
		exec(t, g.in.db, `UPDATE device_codes SET last_polled_at = now() - make_interval(secs => poll_interval) WHERE digest = $1`,
			tokenDigest(start.DeviceCode))
	}
	if err := poll(); !errors.Is(err, authserver.ErrAuthorizationPending) {
		t.Fatalf("first poll: %v", err)
	}
	if err := poll(); !errors.Is(err, authserver.ErrSlowDown) {
		t.Fatalf("fast poll: %v", err)
	}
	if err := poll(); !errors.Is(err, authserver.ErrSlowDown) {
		t.Fatalf("fast poll again: %v", err)
	}
	rewind()
	if err := poll(); !errors.Is(err, authserver.ErrAuthorizationPending) {
		t.Fatalf("poll after interval: %v", err)
	}
	req, err := g.grants.LookupUserCode(ctx, start.UserCode)
	if err != nil || req.ClientPK != c.PK {
		t.Fatalf("lookup: %+v %v", req, err)
	}
	user := g.member(t)
	if err := g.grants.DecideDevice(ctx, start.UserCode, user, true); err != nil {
		t.Fatal(err)
	}
	if err := g.grants.DecideDevice(ctx, start.UserCode, uuid.New(), false); !errors.Is(err, authserver.ErrUnknownUserCode) {
		t.Fatalf("a second decision: %v", err)
	}
	// Concurrent polls after approval: one gets the tokens.
	rewind()
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 5 {
		wg.Go(func() {
			ts, err := g.grants.PollDevice(ctx, c, start.DeviceCode, true)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
				if cl := g.parse(t, ts.AccessToken); cl.UserID != user.String() {
					t.Errorf("token for %s", cl.UserID)
				}
			} else if !errors.Is(err, authserver.ErrInvalidGrant) && !errors.Is(err, authserver.ErrSlowDown) {
				t.Errorf("poll: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d polls got tokens, want 1", wins)
	}
	// Unknown codes and other clients.
	if _, err := g.grants.PollDevice(ctx, c, "odc_unknown", true); !errors.Is(err, authserver.ErrInvalidGrant) {
		t.Fatalf("unknown: %v", err)
	}
	s2, _ := g.grants.StartDevice(ctx, c, nil)
	if _, err := g.grants.PollDevice(ctx, g.client(t), s2.DeviceCode, true); !errors.Is(err, authserver.ErrInvalidGrant) {
		t.Fatalf("other client: %v", err)
	}
	if _, err := g.grants.LookupUserCode(ctx, "AEIOU"); !errors.Is(err, authserver.ErrUnknownUserCode) {
		t.Fatalf("bad user code: %v", err)
	}
}

func TestCheckRevocation(t *testing.T) {
	g := newGrantsEnv(t)
	c := g.client(t)
	ctx := context.Background()
	cc, err := g.grants.IssueClientCredentials(c, []string{"role:viewer"})
	if err != nil {
		t.Fatal(err)
	}
	if cc.ExpiresIn != 3600 {
		t.Fatalf("client credentials lifetime %d", cc.ExpiresIn)
	}
	state, err := g.grants.Check(ctx, g.parse(t, cc.AccessToken))
	if err != nil || state.ClientPK != c.PK || state.TenantID != c.TenantID {
		t.Fatalf("check: %+v %v", state, err)
	}

	// revoke-tokens: a token issued in the same millisecond as the
	// revocation, but before it, must fail too.
	claims := g.parse(t, cc.AccessToken)
	ms := claims.IssuedAtMillis()
	exec(t, g.in.db, `UPDATE api_clients SET tokens_valid_after = to_timestamp($1::float8 / 1000) WHERE id = $2`,
		float64(ms)+0.5, c.PK)
	if g.good(t, cc.AccessToken) {
		t.Fatal("a token issued in the millisecond of revoke-tokens, before it, survived")
	}
	exec(t, g.in.db, `UPDATE api_clients SET tokens_valid_after = to_timestamp($1::float8 / 1000) WHERE id = $2`,
		float64(ms)-1.5, c.PK)
	if !g.good(t, cc.AccessToken) {
		t.Fatal("a token issued after revoke-tokens fails")
	}

	// One access token revoked (RFC 7009) leaves the others alone.
	cc2, _ := g.grants.IssueClientCredentials(c, nil)
	if err := g.grants.RevokeAccessToken(ctx, g.parse(t, cc.AccessToken)); err != nil {
		t.Fatal(err)
	}
	if g.good(t, cc.AccessToken) || !g.good(t, cc2.AccessToken) {
		t.Fatal("RevokeAccessToken revoked the wrong tokens")
	}
	if err := g.grants.RevokeAccessToken(ctx, g.parse(t, cc.AccessToken)); err != nil {
		t.Fatalf("revoking twice: %v", err)
	}

	// A refresh token revoked by another client is left alone.
	code, _ := g.grants.CreateCode(ctx, c, authserver.CodeRequest{UserID: g.member(t), RedirectURI: "https://a.test/cb"})
	ts, _ := g.grants.RedeemCode(ctx, c, code, "https://a.test/cb", "", true)
	if found, err := g.grants.RevokeRefreshToken(ctx, g.client(t), ts.RefreshToken); found || err != nil {
		t.Fatalf("other client's revoke: %v %v", found, err)
	}
	if !g.good(t, ts.AccessToken) {
		t.Fatal("another client's revoke took effect")
	}
	if found, err := g.grants.RevokeRefreshToken(ctx, c, ts.RefreshToken); !found || err != nil {
		t.Fatalf("revoke: %v %v", found, err)
	}
	if g.good(t, ts.AccessToken) {
		t.Fatal("revoking the refresh token left its family's access token working")
	}

	// A token naming another tenant than its client's fails.
	forged := *g.parse(t, cc2.AccessToken)
	forged.TenantID = uuid.NewString()
	if _, err := g.grants.Check(ctx, &forged); !errors.Is(err, authserver.ErrRevoked) {
		t.Fatalf("tenant mismatch: %v", err)
	}
	// The client deleted: all its tokens fail.
	exec(t, g.in.db, `DELETE FROM api_clients WHERE id = $1`, c.PK)
	if g.good(t, cc2.AccessToken) {
		t.Fatal("a deleted client's token passes")
	}
}

// Housekeeping of the grant layer's rows, run as the jobs run it, with the
// grant layer and the jobs on one clock that the test moves: an expired
// code goes a day after its expiry, a grant (and its refresh tokens) once
// the last token issued under it has expired, and each refresh extends
// it; what still lives stays.
func TestPurge(t *testing.T) {
	g := newGrantsEnv(t)
	clock := jobs.NewManualClock(time.Now())
	authserver.SetLocalClockForTests(g.grants, clock.Now)
	c := g.client(t)
	ctx := context.Background()
	user := g.member(t)
	code := func() string {
		t.Helper()
		code, err := g.grants.CreateCode(ctx, c, authserver.CodeRequest{UserID: user, RedirectURI: "https://a.test/cb"})
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	redeem := func(withRefresh bool) *authserver.TokenSet {
		t.Helper()
		ts, err := g.grants.RedeemCode(ctx, c, code(), "https://a.test/cb", "", withRefresh)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	expired, live := code(), code()
	exec(t, g.in.db, `UPDATE authorization_codes SET expires_at = now() - interval '2 days' WHERE digest = $1`, tokenDigest(expired))
	withRT := redeem(true)     // a refresh token that lives 30 days
	withoutRT := redeem(false) // only an access token, for an hour
	q := jobs.New(g.in.db, jobs.Options{Clock: clock})
	purge.Register(q, g.in.db, nil, authserver.PurgeTargets()...)
	runPurges := func(after time.Duration) {
		t.Helper()
		clock.Advance(after)
		if _, err := q.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	left := func(sql string, args ...any) int {
		t.Helper()
		var n int
		if err := g.in.db.SQL().QueryRow(sql, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	grants := func(ts *authserver.TokenSet) int {
		t.Helper()
		return left(`SELECT count(*) FROM grants WHERE id = $1`, ts.Claims.GrantID)
	}
	refreshTokens := func(ts *authserver.TokenSet) int {
		t.Helper()
		return left(`SELECT count(*) FROM refresh_tokens WHERE grant_id = $1`, ts.Claims.GrantID)
	}

	runPurges(0)
	if n := left(`SELECT count(*) FROM authorization_codes WHERE digest = $1`, tokenDigest(expired)); n != 0 {
		t.Error("the expired code was kept")
	}
	if _, err := g.grants.RedeemCode(ctx, c, live, "https://a.test/cb", "", false); err != nil {
		t.Fatalf("purge removed a live code: %v", err)
	}
	if grants(withRT)+grants(withoutRT) != 2 {
		t.Fatal("a live grant was purged")
	}

	runPurges(2 * time.Hour)
	if grants(withoutRT) != 0 {
		t.Error("a grant whose only token expired an hour ago was kept")
	}
	if grants(withRT) != 1 || refreshTokens(withRT) != 1 {
		t.Fatal("a grant whose refresh token lives was purged")
	}

	runPurges(10 * 24 * time.Hour)
	if _, err := g.grants.Refresh(ctx, c, withRT.RefreshToken, nil); err != nil {
		t.Fatal(err)
	}
	runPurges(25 * 24 * time.Hour) // past the first refresh token's 30 days
	if grants(withRT) != 1 || refreshTokens(withRT) != 1 {
		t.Errorf("after the first refresh token expired: %d grants, %d refresh tokens; want the grant, extended, and the new token",
			grants(withRT), refreshTokens(withRT))
	}
	runPurges(10 * 24 * time.Hour) // past the second one's
	if grants(withRT)+refreshTokens(withRT) != 0 {
		t.Error("the grant or its refresh tokens outlived the last token")
	}
}
