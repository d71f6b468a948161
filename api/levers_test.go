package api_test

// The operators' levers, run while two instances serve: rotating the
// signing key (and withdrawing a leaked one), and re-sealing every stored
// secret under a new master key.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/internal/keyring"
	"github.com/oauthd/oauthd/internal/rewrap"
	"github.com/oauthd/oauthd/webhooks"
)

// kidOf reads the kid of a JWT's header.
func kidOf(t *testing.T, token string) string {
	t.Helper()
	head, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// publishedKids lists the kids env's JWKS publishes.
func publishedKids(t *testing.T, env *apitest.Env) []string {
	t.Helper()
	res, err := env.Client().Get(env.URL("/.well-known/jwks.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	var set struct{ Keys []struct{ Kid string } }
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	slices.Sort(kids)
	return kids
}

// A rotation: the new key signs at once on this instance and within the
// second on the other; tokens of the old key keep working and its public
// half stays published. A withdrawal (a leaked key): every token the old
// keys signed fails on both instances within the second, and only the new
// key is published.
func TestRotateSigningKey(t *testing.T) {
	e := apitest.New(t)
	e2 := apitest.New(t, apitest.WithDatabaseURL(e.DatabaseURL), apitest.WithIssuer(e.App.Issuer))
	tid := newTenant(t, e)
	inspector := apitest.MachineClient(t, e, tid)
	machine := apitest.MachineClient(t, e, tid, "viewer")
	old := apitest.ClientCredentialsToken(t, e, machine)
	for _, env := range []*apitest.Env{e, e2} {
		asWorks(t, env, tid, old, inspector)
	}

	kid, err := e.App.Keys.RotateNow(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	if kid == kidOf(t, old) {
		t.Fatal("the rotation kept the key")
	}
	if got := kidOf(t, apitest.ClientCredentialsToken(t, e, machine)); got != kid {
		t.Errorf("this instance signs with %s, want the new %s", got, kid)
	}
	apitest.Eventually(t, time.Second, func() error {
		if got := kidOf(t, apitest.ClientCredentialsToken(t, e2, machine)); got != kid {
			return fmt.Errorf("the other instance still signs with %s", got)
		}
		return nil
	})
	for _, env := range []*apitest.Env{e, e2} {
		asWorks(t, env, tid, old, inspector)
		if kids := publishedKids(t, env); !slices.Contains(kids, kid) || !slices.Contains(kids, kidOf(t, old)) {
			t.Errorf("JWKS %v: want the new and the old key", kids)
		}
	}

	second := apitest.ClientCredentialsToken(t, e2, machine)
	leakFix, err := e2.App.Keys.RotateNow(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{old, second} {
		asGone(t, e2, e, tid, token, inspector)
	}
	fresh := apitest.ClientCredentialsToken(t, e2, machine)
	if kidOf(t, fresh) != leakFix {
		t.Errorf("signed with %s after the withdrawal, want %s", kidOf(t, fresh), leakFix)
	}
	apitest.Eventually(t, time.Second, func() error {
		if kids := publishedKids(t, e); !slices.Equal(kids, []string{leakFix}) {
			return fmt.Errorf("the other instance publishes %v", kids)
		}
		return nil
	})
	for _, env := range []*apitest.Env{e, e2} {
		asWorks(t, env, tid, fresh, inspector)
	}
}

// Every instance restarted with a new master key (the old one among the
// previous keys); rewrap re-seals every stored secret (OAuth client
// secrets, connection tokens and a dance's PKCE verifier, webhook signing
// secrets, the signing keys' private halves) while an instance keeps
// changing secrets; it can be cut short and resumed; and afterwards an
// instance that knows only the new key reads and uses them all.
func TestRewrapUnderANewMasterKey(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{1}, keyring.KeySize), bytes.Repeat([]byte{2}, keyring.KeySize)
	// The first instance stands for the fleet before the restart; its job
	// workers are off, as it would be gone (it cannot open what is
	// re-sealed under the new key).
	w := newConnWorld(t, true, apitest.WithMasterKeys(oldKey), apitest.WithoutJobWorkers())
	ready, link := w.create(t, "ready")
	if status, _, page := visit(t, connectBrowser(t, w.e), link); status != http.StatusOK || !strings.Contains(page, "connected") {
		t.Fatalf("dance: %d %s", status, page)
	}
	pending, link2 := w.create(t, "pending")
	dancer := connectBrowser(t, w.e)
	dancer.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	toProvider := location(t, dancer, link2) // the verifier is sealed now
	receiver := apitest.NewReceiver(t)
	_, hookSecret := mustWebhook(t, w.e, w.tid, &w.owner, receiver.URL(), "flow.*")
	machine := apitest.MachineClient(t, w.e, w.tid, "viewer")
	var clients []string // OAuth clients whose secrets change during the rewrap
	for i := range 12 {
		comp := newOAuthComponent(t, w.e, w.tid, &w.owner)
		clients = append(clients, mustOAuthClient(t, w.e, w.tid, &w.owner, comp, fmt.Sprintf("c-%d", i), "initial-secret-value"))
	}

	e2 := apitest.New(t, apitest.WithDatabaseURL(w.e.DatabaseURL), apitest.WithIssuer(w.e.App.Issuer),
		apitest.WithMasterKeys(newKey, oldKey), apitest.WithOutboundAllowPrivate())
	ctx := context.Background()
	sealedWithOld := func() int {
		t.Helper()
		return countRows(t, e2, `SELECT (SELECT count(*) FROM oauth_clients WHERE secret_key_id = $1)
			+ (SELECT count(*) FROM connections WHERE token_key_id = $1 OR verifier_key_id = $1)
			+ (SELECT count(*) FROM webhook_secrets WHERE key_id = $1)
			+ (SELECT count(*) FROM signing_keys WHERE sealed_with = $1)`, keyring.KeyID(oldKey))
	}
	before := sealedWithOld()

	// Cut short after its first batch: what it did stays done.
	cut, cancel := context.WithCancel(ctx)
	_, err := e2.App.Rewrap(cut, rewrap.Options{BatchSize: 2, Progress: func(string, int) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted rewrap: %v", err)
	}
	if left := sealedWithOld(); left != before-2 {
		t.Fatalf("%d of %d left after one batch of 2", left, before)
	}

	// Resumed while an instance rewrites the secrets: each ends as its
	// last write left it.
	var wg sync.WaitGroup
	final := map[string]string{}
	var mu sync.Mutex
	for i, id := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 4 {
				secret := fmt.Sprintf("secret-%d-round-%d", i, round)
				e2.Patch(tenantPath(w.tid, "/oauth-clients/"+id), &w.owner, doc("oauth-client", map[string]any{"client_secret": secret}, nil)).
					ExpectStatus(t, http.StatusOK)
				mu.Lock()
				final[id] = secret
				mu.Unlock()
			}
		}()
	}
	results, err := e2.App.Rewrap(ctx, rewrap.Options{BatchSize: 1})
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	done := map[string]int{}
	for _, r := range results {
		done[r.Target] = r.Resealed + r.Changed
		if r.Unopenable != 0 {
			t.Errorf("%s: %d unopenable", r.Target, r.Unopenable)
		}
	}
	for _, target := range []string{"connections", "webhook_secrets", "signing_keys"} {
		if done[target] == 0 {
			t.Errorf("nothing of %s was re-sealed: %v", target, results)
		}
	}
	if left := sealedWithOld(); left != 0 {
		t.Fatalf("%d values are still sealed with the old key", left)
	}
	if again, err := e2.App.Rewrap(ctx, rewrap.Options{}); err != nil || again[0].Resealed+again[1].Resealed+again[2].Resealed+again[3].Resealed != 0 {
		t.Errorf("a second run: %v, %v; want nothing left to do", again, err)
	}

	// An instance that knows only the new key uses all of it.
	e3 := apitest.New(t, apitest.WithDatabaseURL(w.e.DatabaseURL), apitest.WithIssuer(w.e.App.Issuer),
		apitest.WithMasterKeys(newKey), apitest.WithOutboundAllowPrivate())
	for _, id := range clients {
		r := e3.Get(tenantPath(w.tid, "/oauth-clients/"+id+"/secret"), &w.owner).ExpectStatus(t, http.StatusOK)
		if got := r.Attr(t, "client_secret"); got != final[id] {
			t.Errorf("client %s reveals %v, want its last secret %q", id, got, final[id])
		}
	}
	if r := w.accessToken(t, e3, ready).ExpectStatus(t, http.StatusOK); r.Attr(t, "access_token") != w.p.lastIssued() {
		t.Errorf("the connected account's token: %s", r.Body)
	}
	// The dance begun under the old key ends on the new-key instance: the
	// browser comes back from the provider to it, and it opens the verifier.
	callback := location(t, dancer, toProvider)
	callback = strings.Replace(callback, w.e.Server.URL, e3.Server.URL, 1)
	dancer.CheckRedirect = nil
	if status, _, page := visit(t, dancer, callback); status != http.StatusOK || !strings.Contains(page, "The account is connected") {
		t.Fatalf("callback on the new-key instance: %d %s", status, page)
	}
	if st := w.get(t, pending); attrOf(st, "state") != "ready" {
		t.Errorf("the connection whose dance spanned the rewrap: %v", st)
	}
	apitest.ClientCredentialsToken(t, e3, machine) // the signing key opens
	newFlow(t, e3, w.tid, &w.owner, "after-rewrap")
	for _, d := range receiver.WaitFor(t, 1) {
		if err := webhooks.Verify(d.Header.Get(webhooks.SignatureHeader), d.Body, hookSecret, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("delivery after the rewrap: %v", err)
		}
	}
}

// location GETs u with a browser that stops at redirects and returns where
// it was sent.
func location(t *testing.T, b *http.Client, u string) string {
	t.Helper()
	res, err := b.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	loc := res.Header.Get("Location")
	if res.StatusCode/100 != 3 || loc == "" {
		t.Fatalf("GET %s: %d, no redirect", u, res.StatusCode)
	}
	return loc
}
