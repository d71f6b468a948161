package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oauthd/oauthd/api/apitest"
)

// connAttrs reads a connection.
func (w *connWorld) get(t testing.TB, id string) map[string]any {
	t.Helper()
	return w.e.Get(w.path("/"+id), &w.owner).ExpectStatus(t, http.StatusOK).Data(t)
}

func (w *connWorld) accessToken(t testing.TB, e *apitest.Env, id string) *apitest.Response {
	t.Helper()
	return e.Post(w.path("/"+id+"/access-token"), &w.owner, nil)
}

// auditActions lists the tenant's audit actions on a resource, oldest first.
func auditActions(t testing.TB, e *apitest.Env, tid string, creds *apitest.Creds, resourceID string) []string {
	t.Helper()
	r := e.Get(tenantPath(tid, "/audit-events?sort=created_at&page[size]=100&filter[resource_id]="+resourceID), creds).ExpectStatus(t, http.StatusOK)
	var out []string
	for _, ev := range r.List(t) {
		out = append(out, attrOf(ev, "action").(string))
	}
	return out
}

func connError(t testing.TB, data map[string]any) map[string]any {
	t.Helper()
	e, _ := attrOf(data, "error").(map[string]any)
	return e
}

// sql runs a statement on the raw database (to move a token's expiry or a
// backoff's end, which would otherwise take real time).
func sqlExec(t testing.TB, e *apitest.Env, q string, args ...any) {
	t.Helper()
	if _, err := e.App.DB.SQL().Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestConnectionConnectsAndHandsOutTokens(t *testing.T) {
	w := newConnWorld(t, true)
	id, link := w.create(t, "acme-sf")
	b := connectBrowser(t, w.e)
	status, at, page := visit(t, b, link)
	if status != http.StatusOK || at.Path != "/connect/callback" || !strings.Contains(page, "The account is connected") {
		t.Fatalf("dance ended with %d at %s: %s", status, at, page)
	}
	data := w.get(t, id)
	if attrOf(data, "state") != "ready" || attrOf(data, "authorize_url") != nil || attrOf(data, "error") != nil ||
		!slices.Equal(toStrings(attrOf(data, "scopes")), []string{"read", "write"}) || relID(t, data, "oauth-client") != w.client {
		t.Fatalf("connection after the dance: %v", data)
	}
	exp, err := time.Parse(time.RFC3339, attrOf(data, "expires_at").(string))
	if err != nil || exp.Before(time.Now().Add(50*time.Minute)) || exp.After(time.Now().Add(61*time.Minute)) {
		t.Fatalf("expires_at = %v (%v), want about an hour from now", attrOf(data, "expires_at"), err)
	}

	r := w.accessToken(t, w.e, id).ExpectStatus(t, http.StatusOK)
	access := w.p.lastIssued()
	if r.Attr(t, "access_token") != access || r.Attr(t, "token_type") != "Bearer" || r.Attr(t, "scope") != "read write" ||
		r.Header.Get("Cache-Control") != "no-store" || r.ID(t) != id {
		t.Fatalf("access-token: %s", r.Body)
	}
	if w.p.calls() != 1 {
		t.Fatalf("the provider's token endpoint was called %d times, want 1 (the exchange; the token is fresh)", w.p.calls())
	}
	w.p.checkClean(t)

	// The link and the provider's answer are single-use.
	if status, _, page := visit(t, b, link); status != http.StatusNotFound || !strings.Contains(page, "already used") {
		t.Fatalf("second visit of the link: %d %s", status, page)
	}
	if status, _, _ := visit(t, b, at.String()); status != http.StatusBadRequest {
		t.Fatalf("replayed callback: %d", status)
	}
	if w.p.calls() != 1 {
		t.Fatalf("a replayed callback reached the provider")
	}

	// Tokens are sealed: not in the database, the logs or the audit trail.
	p := w.p
	refresh := p.refresh
	for _, secret := range []string{access, refresh} {
		if where := dbHolding(t, w.e, secret); len(where) > 0 {
			t.Errorf("a token is stored in clear in %v", where)
		}
		if strings.Contains(w.e.Logs.String(), secret) {
			t.Errorf("a token is in the logs")
		}
	}
	if strings.Contains(w.e.Logs.String(), strings.TrimPrefix(link, w.e.URL("/connect/"))) {
		t.Error("the authorize_url's capability is in the logs")
	}
	// The read reaches the trail through the batch writer, a few
	// milliseconds after the token left.
	apitest.Eventually(t, 5*time.Second, func() error {
		actions := auditActions(t, w.e, w.tid, &w.owner, id)
		if !slices.Equal(actions, []string{"connection.created", "connection.connected", "connection.token_read"}) {
			return fmt.Errorf("audit actions %v", actions)
		}
		return nil
	})
	all := w.e.Get(tenantPath(w.tid, "/audit-events?page[size]=100"), &w.owner)
	if strings.Contains(string(all.Body), access) || strings.Contains(string(all.Body), refresh) {
		t.Fatal("the audit trail holds a token")
	}
}

// The provider's answer counts only in the browser that opened the link,
// and a state oauthd never issued is refused; nothing is stored by either.
func TestConnectionCallbackRefusals(t *testing.T) {
	w := newConnWorld(t, false)
	id, link := w.create(t, "acme")
	status, _, page := visit(t, connectBrowser(t, w.e), w.e.URL("/connect/callback?state=forged&code=whatever"))
	if status != http.StatusBadRequest || !strings.Contains(page, "does not belong to an authorization in progress") {
		t.Fatalf("forged state: %d %s", status, page)
	}
	// Browser A opens the link; the provider's answer is brought to browser B.
	a := connectBrowser(t, w.e)
	a.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), w.e.URL("/connect/callback")) {
			return http.ErrUseLastResponse
		}
		return nil
	}
	res, err := a.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	callback := res.Header.Get("Location")
	if res.StatusCode != http.StatusFound || !strings.HasPrefix(callback, w.e.URL("/connect/callback")) {
		t.Fatalf("the provider did not send the browser back: %d %q", res.StatusCode, callback)
	}
	if status, _, page := visit(t, connectBrowser(t, w.e), callback); status != http.StatusForbidden || !strings.Contains(page, "different browser") {
		t.Fatalf("answer in another browser: %d %s", status, page)
	}
	if w.p.calls() != 0 || attrOf(w.get(t, id), "state") != "pending" {
		t.Fatal("a refused callback changed something")
	}
	a.CheckRedirect = nil
	if status, _, page := visit(t, a, callback); status != http.StatusOK || !strings.Contains(page, "The account is connected") {
		t.Fatalf("answer in the right browser: %d %s", status, page)
	}
}

func TestConnectionAccessDeniedAndNoRefreshToken(t *testing.T) {
	w := newConnWorld(t, false)
	w.p.deny = true
	id, link := w.create(t, "denied")
	status, _, page := visit(t, connectBrowser(t, w.e), link)
	if status != http.StatusOK || !strings.Contains(page, "The user said no") || !strings.Contains(page, "was not connected") {
		t.Fatalf("denied: %d %s", status, page)
	}
	data := w.get(t, id)
	if attrOf(data, "state") != "error" || connError(t, data)["code"] != "access_denied" {
		t.Fatalf("after access_denied: %v", data)
	}
	expectError(t, w.accessToken(t, w.e, id), http.StatusConflict, "connection_needs_reconnect", "")
	if w.p.calls() != 0 {
		t.Fatal("the provider was called for a connection in state error")
	}

	// Reconnect with a provider that gives no refresh token.
	w.p.deny, w.p.noRefresh = false, true
	r := w.e.Post(w.path("/"+id+"/reconnect"), &w.owner, nil).ExpectStatus(t, http.StatusOK)
	link2, _ := r.Attr(t, "authorize_url").(string)
	if status, _, _ := visit(t, connectBrowser(t, w.e), link); status != http.StatusNotFound {
		t.Fatalf("the old link still works after reconnect: %d", status)
	}
	status, _, page = visit(t, connectBrowser(t, w.e), link2)
	if status != http.StatusOK || !strings.Contains(page, "no refresh token") {
		t.Fatalf("no refresh token: %d %s", status, page)
	}
	data = w.get(t, id)
	if attrOf(data, "state") != "error" || connError(t, data)["code"] != "refresh_token_missing" {
		t.Fatalf("after a token answer without refresh_token: %v", data)
	}
	if n := countRows(t, w.e, "SELECT count(*) FROM connections WHERE id = $1 AND access_token IS NOT NULL", id); n != 0 {
		t.Fatal("tokens were kept without a refresh token")
	}
}

func TestConnectionRefreshRotates(t *testing.T) {
	w := newConnWorld(t, false)
	id := w.connect(t, "rotating")
	for i := 0; i < 2; i++ {
		before := w.p.refresh
		w.e.Post(w.path("/"+id+"/refresh"), &w.owner, nil).ExpectStatus(t, http.StatusOK)
		if w.p.refresh == before {
			t.Fatalf("refresh %d did not rotate", i+1)
		}
		if got := w.accessToken(t, w.e, id).ExpectStatus(t, http.StatusOK).Attr(t, "access_token"); got != w.p.lastIssued() {
			t.Fatalf("after refresh %d the access token is %v, want the newest", i+1, got)
		}
	}
	// An answer without a new refresh token keeps the one held.
	w.p.keepRefresh = true
	w.e.Post(w.path("/"+id+"/refresh"), &w.owner, nil).ExpectStatus(t, http.StatusOK)
	w.e.Post(w.path("/"+id+"/refresh"), &w.owner, nil).ExpectStatus(t, http.StatusOK)
	if w.p.refreshes != 4 {
		t.Fatalf("%d refreshes reached the provider, want 4", w.p.refreshes)
	}
	w.p.checkClean(t)
	actions := auditActions(t, w.e, w.tid, &w.owner, id)
	if n := strings.Count(strings.Join(actions, ","), "connection.refreshed"); n != 4 {
		t.Fatalf("audit: %v", actions)
	}
}

// A token about to expire is refreshed before it is handed out.
func TestConnectionAccessTokenRefreshesAhead(t *testing.T) {
	w := newConnWorld(t, false)
	id := w.connect(t, "ahead")
	old := w.p.lastIssued()
	sqlExec(t, w.e, "UPDATE connections SET expires_at = now() + interval '4 minutes' WHERE id = $1", id)
	got := w.accessToken(t, w.e, id).ExpectStatus(t, http.StatusOK).Attr(t, "access_token")
	if got == old || got != w.p.lastIssued() || w.p.refreshes != 1 {
		t.Fatalf("access-token with 4 minutes left gave %v (old %s), %d refreshes", got, old, w.p.refreshes)
	}
}

func TestConnectionInvalidGrantNeedsReconnect(t *testing.T) {
	w := newConnWorld(t, false)
	id := w.connect(t, "revoked")
	w.p.then(func(rw http.ResponseWriter, _ *http.Request) {
		oauthError(rw, http.StatusBadRequest, "invalid_grant", "Token has been expired or revoked.")
	})
	r := w.e.Post(w.path("/"+id+"/refresh"), &w.owner, nil)
	e := expectError(t, r, http.StatusConflict, "connection_needs_reconnect", "")
	if !strings.Contains(e["detail"].(string), "Token has been expired or revoked.") {
		t.Fatalf("the provider's words are not shown: %v", e)
	}
	calls := w.p.calls()
	data := w.get(t, id)
	if attrOf(data, "state") != "error" || connError(t, data)["code"] != "reconnect_required" || attrOf(data, "expires_at") != nil {
		t.Fatalf("after invalid_grant: %v", data)
	}
	expectError(t, w.accessToken(t, w.e, id), http.StatusConflict, "connection_needs_reconnect", "")
	expectError(t, w.e.Post(w.path("/"+id+"/refresh"), &w.owner, nil), http.StatusConflict, "connection_needs_reconnect", "")
	if w.p.calls() != calls {
		t.Fatal("the provider was called again after invalid_grant")
	}
	if n := countRows(t, w.e, "SELECT count(*) FROM connections WHERE id = $1 AND (access_token IS NOT NULL OR refresh_token IS NOT NULL)", id); n != 0 {
		t.Fatal("tokens were kept after invalid_grant")
	}
	if a := auditActions(t, w.e, w.tid, &w.owner, id); !slices.Contains(a, "connection.refresh_failed") {
		t.Fatalf("audit: %v", a)
	}
}

// A transient failure keeps the tokens, serves the current token while it
// is valid, waits 30 s (doubling) before the next attempt, and says 503
// with Retry-After once no valid token is left.
func TestConnectionTransientFailureBacksOff(t *testing.T) {
	w := newConnWorld(t, false)
	id := w.connect(t, "flaky")
	current := w.p.lastIssued()
	w.p.then(func(rw http.ResponseWriter, _ *http.Request) {
		http.Error(rw, "upstream exploded", http.StatusInternalServerError)
	})
	sqlExec(t, w.e, "UPDATE connections SET expires_at = now() + interval '2 minutes' WHERE id = $1", id)
	got := w.accessToken(t, w.e, id).ExpectStatus(t, http.StatusOK).Attr(t, "access_token")
	if got != current {
		t.Fatalf("during backoff the current token should be served, got %v", got)
	}
	data := w.get(t, id)
	ce := connError(t, data)
	retryAt, _ := time.Parse(time.RFC3339, fmt.Sprint(ce["retry_at"]))
	if attrOf(data, "state") != "ready" || ce["code"] != "refresh_failed" || !strings.Contains(fmt.Sprint(ce["detail"]), "HTTP 500") ||
		retryAt.Before(time.Now().Add(20*time.Second)) || retryAt.After(time.Now().Add(31*time.Second)) {
		t.Fatalf("after a 500: %v", data)
	}
	calls := w.p.calls()
	w.accessToken(t, w.e, id).ExpectStatus(t, http.StatusOK)
	r := w.e.Post(w.path("/"+id+"/refresh"), &w.owner, nil)
	expectError(t, r, http.StatusServiceUnavailable, "connection_refresh_backoff", "")
	if s, _ := strconv.Atoi(r.Header.Get("Retry-After")); s < 20 || s > 31 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	sqlExec(t, w.e, "UPDATE connections SET expires_at = now() - interval '1 minute' WHERE id = $1", id)
	expectError(t, w.accessToken(t, w.e, id), http.StatusServiceUnavailable, "connection_refresh_backoff", "")
	if w.p.calls() != calls {
		t.Fatal("the provider was called during the backoff")
	}

	// The second failure doubles the wait; then the provider recovers.
	w.p.then(func(rw http.ResponseWriter, _ *http.Request) { http.Error(rw, "slow down", http.StatusTooManyRequests) })
	sqlExec(t, w.e, "UPDATE connections SET retry_at = now() - interval '1 second' WHERE id = $1", id)
	r = w.accessToken(t, w.e, id)
	expectError(t, r, http.StatusServiceUnavailable, "connection_refresh_backoff", "")
	if s, _ := strconv.Atoi(r.Header.Get("Retry-After")); s < 50 || s > 61 {
		t.Fatalf("second Retry-After %q, want about 60", r.Header.Get("Retry-After"))
	}
	sqlExec(t, w.e, "UPDATE connections SET retry_at = now() - interval '1 second' WHERE id = $1", id)
	got = w.accessToken(t, w.e, id).ExpectStatus(t, http.StatusOK).Attr(t, "access_token")
	if got != w.p.lastIssued() || got == current || connError(t, w.get(t, id)) != nil {
		t.Fatalf("after recovery: token %v", got)
	}
	actions := strings.Join(auditActions(t, w.e, w.tid, &w.owner, id), ",")
	if strings.Count(actions, "connection.refresh_failed") != 2 || !strings.Contains(actions, "connection.refreshed,connection.recovered") {
		t.Fatalf("audit: %s", actions)
	}
	w.p.checkClean(t)
}

// A provider that answers slowly or with 10 MB is a transient failure,
// bounded in time and memory.
func TestConnectionSlowOrHugeProvider(t *testing.T) {
	w := newConnWorld(t, false, apitest.WithProviderTimeout(300*time.Millisecond))
	id := w.connect(t, "slow")
	release := make(chan struct{})
	defer close(release)
	w.p.then(func(rw http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	start := time.Now()
	r := w.e.Post(w.path("/"+id+"/refresh"), &w.owner, nil)
	expectError(t, r, http.StatusServiceUnavailable, "connection_refresh_backoff", "")
	if !strings.Contains(string(r.Body), "did not answer in time") || time.Since(start) > 10*time.Second {
		t.Fatalf("slow provider: %s after %v", r.Body, time.Since(start))
	}
	sqlExec(t, w.e, "UPDATE connections SET retry_at = NULL WHERE id = $1", id)
	w.p.then(func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		chunk := []byte(`{"access_token":"` + strings.Repeat("x", 1<<20))
		for i := 0; i < 10; i++ {
			if _, err := rw.Write(chunk); err != nil {
				return
			}
		}
	})
	r = w.e.Post(w.path("/"+id+"/refresh"), &w.owner, nil)
	expectError(t, r, http.StatusServiceUnavailable, "connection_refresh_backoff", "")
	if strings.Contains(string(r.Body), "xxxx") {
		t.Fatal("the provider's body is echoed")
	}
	if attrOf(w.get(t, id), "state") != "ready" {
		t.Fatal("a transient failure took the connection out of ready")
	}
}

// 20 concurrent refresh and access-token calls on two instances: all
// succeed, and the provider (which rotates refresh tokens and detects
// reuse) never sees a refresh token twice.
func TestConnectionConcurrentRefreshTwoInstances(t *testing.T) {
	w := newConnWorld(t, false)
	e2 := apitest.New(t, apitest.WithDatabaseURL(w.e.DatabaseURL), apitest.WithIssuer(w.e.URL("")), apitest.WithOutboundAllowPrivate())
	id := w.connect(t, "busy")
	sqlExec(t, w.e, "UPDATE connections SET expires_at = now() + interval '1 minute' WHERE id = $1", id)
	apitest.Race(t, 20, func(i int, t testing.TB) {
		env := []*apitest.Env{w.e, e2}[i%2].For(t)
		if i%4 < 2 {
			env.Post(w.path("/"+id+"/refresh"), &w.owner, nil).ExpectStatus(t, http.StatusOK)
			return
		}
		if w.accessToken(t, env, id).ExpectStatus(t, http.StatusOK).Attr(t, "access_token") == "" {
			t.Error("no token")
		}
	})
	w.p.checkClean(t)
	if w.p.refreshes < 1 || w.p.refreshes > 11 {
		t.Fatalf("%d refreshes for 10 refresh calls and 10 reads", w.p.refreshes)
	}
	// An instance may hand out the token it read before another instance's
	// refresh for up to a second (the token cache); then the newest.
	apitest.Eventually(t, 5*time.Second, func() error {
		if got := w.accessToken(t, e2, id).ExpectStatus(t, http.StatusOK).Attr(t, "access_token"); got != w.p.lastIssued() {
			return fmt.Errorf("after the race the token is %v, want the newest", got)
		}
		return nil
	})
}

func TestConnectionOAuthClientDeleted(t *testing.T) {
	w := newConnWorld(t, false)
	id := w.connect(t, "orphan")
	w.e.Delete(tenantPath(w.tid, "/oauth-clients/"+w.client), &w.owner).ExpectStatus(t, http.StatusNoContent)
	data := w.get(t, id)
	rs := data["relationships"].(map[string]any)["oauth-client"].(map[string]any)
	if attrOf(data, "state") != "error" || connError(t, data)["code"] != "oauth_client_deleted" || rs["data"] != nil {
		t.Fatalf("after the OAuth client's delete: %v", data)
	}
	expectError(t, w.accessToken(t, w.e, id), http.StatusConflict, "connection_needs_reconnect", "")
	expectError(t, w.e.Post(w.path("/"+id+"/reconnect"), &w.owner, nil), http.StatusConflict, "oauth_client_required", "")
	if a := auditActions(t, w.e, w.tid, &w.owner, id); a[len(a)-1] != "connection.disconnected" {
		t.Fatalf("audit: %v", a)
	}
	// A new client, a reconnect, and the connection is ready again.
	w.client = mustOAuthClient(t, w.e, w.tid, &w.owner, w.component, w.p.id, w.p.secret)
	link, _ := w.e.Post(w.path("/"+id+"/reconnect"), &w.owner, nil).ExpectStatus(t, http.StatusOK).Attr(t, "authorize_url").(string)
	if status, _, _ := visit(t, connectBrowser(t, w.e), link); status != http.StatusOK || attrOf(w.get(t, id), "state") != "ready" {
		t.Fatalf("reconnect after a new client: %d %v", status, w.get(t, id))
	}
	w.e.Delete(w.path("/"+id), &w.owner).ExpectStatus(t, http.StatusNoContent)
	w.e.Get(w.path("/"+id), &w.owner).ExpectStatus(t, http.StatusNotFound)
	if n := countRows(t, w.e, "SELECT count(*) FROM connections"); n != 0 {
		t.Fatalf("%d connections left after delete", n)
	}
}

func TestConnectionListFilters(t *testing.T) {
	w := newConnWorld(t, false)
	ready := w.connect(t, "b-ready")
	pending, _ := w.create(t, "a-pending")
	r := w.e.Get(w.path("?filter[state]=ready"), &w.owner).ExpectStatus(t, http.StatusOK)
	if ids := listIDs(t, r); !slices.Equal(ids, []string{ready}) {
		t.Fatalf("filter[state]=ready: %v", ids)
	}
	r = w.e.Get(w.path("?sort=name&filter[component]="+w.component), &w.owner).ExpectStatus(t, http.StatusOK)
	if ids := listIDs(t, r); !slices.Equal(ids, []string{pending, ready}) {
		t.Fatalf("sort=name: %v", ids)
	}
	for _, q := range []string{"filter[state]=bogus", "filter[component]=nope", "sort=token", "filter[name]=x"} {
		r := w.e.Get(w.path("?"+q), &w.owner)
		expectError(t, r, http.StatusBadRequest, "", strings.SplitN(q, "=", 2)[0])
	}
}

// The background job refreshes a token that expires within 10 minutes,
// from the durable queue, so a caller gets a fresh token without waiting.
func TestConnectionRefreshedAheadByTheQueue(t *testing.T) {
	w := newConnWorld(t, false)
	id := w.connect(t, "ahead")
	fresh := w.connect(t, "fresh")
	sqlExec(t, w.e, "UPDATE connections SET expires_at = now() + interval '8 minutes' WHERE id = $1", id)
	n, err := w.e.App.Connections.EnqueueDue(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("EnqueueDue = %d, %v; want the one connection that expires soon", n, err)
	}
	apitest.Eventually(t, 10*time.Second, func() error {
		if c := w.p.calls(); c != 3 { // two exchanges and the one refresh
			return fmt.Errorf("the provider has %d token calls", c)
		}
		return nil
	})
	apitest.Eventually(t, 5*time.Second, func() error {
		exp, _ := time.Parse(time.RFC3339, fmt.Sprint(attrOf(w.get(t, id), "expires_at")))
		if exp.Before(time.Now().Add(50 * time.Minute)) {
			return fmt.Errorf("expires_at %v", exp)
		}
		return nil
	})
	calls := w.p.calls()
	if got := w.accessToken(t, w.e, id).ExpectStatus(t, http.StatusOK).Attr(t, "access_token"); got != w.p.lastIssued() || w.p.calls() != calls {
		t.Fatalf("after the job, access-token gave %v with %d more provider calls", got, w.p.calls()-calls)
	}
	if a := auditActions(t, w.e, w.tid, &w.owner, fresh); slices.Contains(a, "connection.refreshed") {
		t.Fatal("a fresh connection was refreshed")
	}
	w.p.checkClean(t)
}

// Who may do what: viewer reads; admin all but the token; platform reads,
// connects and takes tokens. Bad input is a 4xx naming the field, and
// nothing is stored.
func TestConnectionPermissionsAndBadInput(t *testing.T) {
	w := newConnWorld(t, false)
	e := w.e
	id := w.connect(t, "perm")
	viewer := newMember(t, e, w.tid, []string{"viewer"}, nil)
	admin := newMember(t, e, w.tid, []string{"admin"}, nil)
	platform := newMember(t, e, w.tid, []string{"platform"}, nil)
	body := func(name, component string) map[string]any {
		return doc("connection", map[string]any{"name": name}, map[string]any{"component": rel("component", component)})
	}
	e.Get(w.path("/"+id), &viewer).ExpectStatus(t, http.StatusOK)
	expectError(t, e.Post(w.path(""), &viewer, body("v", w.component)), http.StatusForbidden, "permission_denied", "")
	expectError(t, e.Post(w.path("/"+id+"/access-token"), &viewer, nil), http.StatusForbidden, "permission_denied", "")
	r := e.Post(w.path("/"+id+"/access-token"), &admin, nil)
	if got := expectError(t, r, http.StatusForbidden, "permission_denied", ""); got["meta"].(map[string]any)["permission"] != "tenants.connections.token" {
		t.Fatalf("admin's 403 does not name tenants.connections.token: %v", got)
	}
	e.Post(w.path("/"+id+"/refresh"), &admin, nil).ExpectStatus(t, http.StatusOK)
	e.Post(w.path("/"+id+"/access-token"), &platform, nil).ExpectStatus(t, http.StatusOK)
	e.Post(w.path(""), &platform, body("by-platform", w.component)).ExpectStatus(t, http.StatusCreated)
	expectError(t, e.Delete(w.path("/"+id), &platform), http.StatusForbidden, "permission_denied", "")

	plain := newComponent(t, e, w.tid, &w.owner, map[string]any{"descriptor": map[string]any{"title": "no oauth"}})
	noClient := newComponent(t, e, w.tid, &w.owner, map[string]any{"descriptor": w.p.descriptor()})
	before := countRows(t, e, "SELECT count(*) FROM connections")
	for _, c := range []struct {
		name    string
		body    any
		status  int
		code    string
		pointer string
	}{
		{"no name", doc("connection", nil, map[string]any{"component": rel("component", w.component)}), 422, "required", "/data/attributes/name"},
		{"name too long", body(strings.Repeat("n", 300), w.component), 422, "", "/data/attributes/name"},
		{"name not a string", doc("connection", map[string]any{"name": 5}, map[string]any{"component": rel("component", w.component)}), 400, "wrong_type", "/data/attributes/name"},
		{"no component", doc("connection", map[string]any{"name": "x"}, nil), 422, "required", "/data/relationships/component/data/id"},
		{"unknown component", body("x", specNobody), 422, "component_not_found", "/data/relationships/component/data/id"},
		{"malformed component id", body("x", "nope"), 422, "component_not_found", "/data/relationships/component/data/id"},
		{"component without oauth2", body("x", plain), 422, "component_not_connectable", "/data/relationships/component/data/id"},
		{"no OAuth client", body("x", noClient), 409, "oauth_client_required", "/data/relationships/component/data/id"},
		{"name taken, any case", body("PERM", w.component), 409, "connection_name_taken", "/data/attributes/name"},
		{"unknown attribute", doc("connection", map[string]any{"name": "x", "state": "ready"}, nil), 400, "unknown_attribute", "/data/attributes/state"},
		{"wrong type", doc("oauth-client", map[string]any{"name": "x"}, nil), 409, "type_mismatch", "/data/type"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := e.For(t)
			expectError(t, e.For(t).Post(w.path(""), &w.owner, c.body), c.status, c.code, c.pointer)
		})
	}
	if after := countRows(t, e, "SELECT count(*) FROM connections"); after != before {
		t.Fatalf("refused creates stored %d connections", after-before)
	}
	expectError(t, e.Do(apitest.Request{Method: http.MethodPost, Path: w.path("/" + id + "/access-token?x=1"), Auth: &w.owner}),
		http.StatusBadRequest, "unknown_parameter", "x")
	expectError(t, e.Post(w.path("/nope/access-token"), &w.owner, nil), http.StatusNotFound, "connection_not_found", "")
}
