package api_test

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
)

// visitFrom is visit from a client address (X-Forwarded-For, the test
// server's peer being a trusted proxy); it also returns Retry-After.
func visitFrom(t testing.TB, b *http.Client, u, address string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", address)
	res, err := b.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer func() { _ = res.Body.Close() }()
	page, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Retry-After"), string(page)
}

// The /connect pages spend the address's failure budget on bad, replayed
// or misdirected links and answers, before the connection is looked up:
// after ten in a minute the address gets 429 with Retry-After, even for a
// good link (which stays usable); dances that go on spend nothing, and
// other addresses are not affected.
func TestConnectPagesLimitBadAttemptsPerAddress(t *testing.T) {
	_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
	w := newConnWorld(t, false, apitest.WithTrustedProxies(loopback))
	guesser, owner := "203.0.113.1", "198.51.100.2"

	// Twelve dances from one address: each visit reserves and gives back.
	for i := range 12 {
		_, link := w.create(t, "good-"+strconv.Itoa(i))
		if status, _, page := visitFrom(t, connectBrowser(t, w.e), link, owner); status != http.StatusOK || !strings.Contains(page, "The account is connected") {
			t.Fatalf("dance %d: %d %s", i+1, status, page)
		}
	}

	id, link := w.create(t, "limited")
	calls := w.p.calls()
	b := connectBrowser(t, w.e)
	for i := range 10 {
		u, want := w.e.URL("/connect/not-a-link-"+strconv.Itoa(i)), http.StatusNotFound
		if i%2 == 1 {
			u, want = w.e.URL("/connect/callback?state=forged-"+strconv.Itoa(i)+"&code=x"), http.StatusBadRequest
		}
		if status, _, _ := visitFrom(t, b, u, guesser); status != want {
			t.Fatalf("bad attempt %d: %d, want %d", i+1, status, want)
		}
	}
	for _, u := range []string{w.e.URL("/connect/not-a-link"), w.e.URL("/connect/callback?state=forged&code=x"), link} {
		status, retry, page := visitFrom(t, b, u, guesser)
		if s, err := strconv.Atoi(retry); status != http.StatusTooManyRequests || err != nil || s < 1 || !strings.Contains(page, "Too many") {
			t.Fatalf("%s after ten bad attempts: %d, Retry-After %q: %s", u, status, retry, page)
		}
	}
	if w.p.calls() != calls || attrOf(w.get(t, id), "state") != "pending" {
		t.Fatal("a refused attempt reached the provider or changed the connection")
	}
	// The link was not spent, and its owner elsewhere is not limited.
	if status, _, page := visitFrom(t, connectBrowser(t, w.e), link, owner); status != http.StatusOK || !strings.Contains(page, "The account is connected") {
		t.Fatalf("the good link from another address: %d %s", status, page)
	}
}
