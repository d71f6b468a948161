package oauth2_test

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/internal/jobs"
)

// failClientAuth spends the ten failures the client-auth limit allows for
// m from the address X-Forwarded-For claims ("" for none).
func failClientAuth(t *testing.T, e *apitest.Env, m apitest.APIClient, xff string) {
	t.Helper()
	for i := 0; i < 10; i++ {
		clientCredentialsWith(t, e, m.Client.ClientID, m.Secret+"x", xff).ExpectError(t, http.StatusUnauthorized, "invalid_client")
	}
}

func clientCredentials(t testing.TB, e *apitest.Env, m apitest.APIClient, xff string) apitest.OAuthAnswer {
	t.Helper()
	return clientCredentialsWith(t, e, m.Client.ClientID, m.Secret, xff)
}

// clientCredentialsWith is a client_credentials request with
// client_secret_basic, from the address X-Forwarded-For claims ("" for
// none).
func clientCredentialsWith(t testing.TB, e *apitest.Env, id, secret, xff string) apitest.OAuthAnswer {
	t.Helper()
	h := map[string]string{"Authorization": apitest.BasicOf(id, secret)}
	if xff != "" {
		h["X-Forwarded-For"] = xff
	}
	return apitest.PostOAuth(t, e, "/oauth/token", apitest.FormType, strings.NewReader("grant_type=client_credentials"), h)
}

func expectLimited(t testing.TB, a apitest.OAuthAnswer) {
	t.Helper()
	a.ExpectError(t, http.StatusTooManyRequests, "invalid_client")
	if s, err := strconv.Atoi(a.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After %q", a.Header.Get("Retry-After"))
	}
}

// TestClientAuthLimitBehindProxies: failed client authentication is
// limited per client id and client address. Without trusted proxies,
// X-Forwarded-For is ignored (a client cannot pick a fresh address per
// guess); with the load balancer's network trusted, the address is the
// nearest untrusted one in X-Forwarded-For, so a guesser on one address
// does not lock the client out for everyone else behind the same proxy.
func TestClientAuthLimitBehindProxies(t *testing.T) {
	// Each case is an instance started behind its own load balancers.
	instance := func(t *testing.T, trusted ...*net.IPNet) (*apitest.Env, string) {
		t.Helper()
		e := apitest.New(t, apitest.WithTrustedProxies(trusted...))
		tid := e.Post("/v2/tenants", &e.Super, doc("tenant", map[string]any{"name": "acme"})).ExpectStatus(t, http.StatusCreated).ID(t)
		return e, tid
	}

	t.Run("no trusted proxies: the header is ignored", func(t *testing.T) {
		e, tid := instance(t)
		m := apitest.MachineClient(t, e, tid, "viewer")
		failClientAuth(t, e, m, "203.0.113.1")
		expectLimited(t, clientCredentials(t, e, m, "198.51.100.2"))
		expectLimited(t, clientCredentials(t, e, m, ""))
	})

	t.Run("trusted load balancer", func(t *testing.T) {
		_, loopback, _ := net.ParseCIDR("127.0.0.0/8") // the test server's peer is the "load balancer"
		e, tid := instance(t, loopback)
		m := apitest.MachineClient(t, e, tid, "viewer")
		failClientAuth(t, e, m, "203.0.113.1")
		// The guesser's address is blocked, even with the right secret...
		expectLimited(t, clientCredentials(t, e, m, "203.0.113.1"))
		// ...and cannot escape by prepending an address of its choosing:
		// the proxy appends the real one, and that is what counts.
		expectLimited(t, clientCredentials(t, e, m, "198.51.100.77, 203.0.113.1"))
		// The client itself, elsewhere, is not.
		if a := clientCredentials(t, e, m, "198.51.100.2"); a.Status != http.StatusOK {
			t.Fatalf("right secret from another address: %d %s", a.Status, a.Raw)
		}
		if a := clientCredentials(t, e, m, "203.0.113.1, 198.51.100.2"); a.Status != http.StatusOK {
			t.Fatalf("right secret from another address, spoofed left: %d %s", a.Status, a.Raw)
		}
		// Logs name the client's address, not the proxy's.
		if !strings.Contains(e.Logs.String(), `"remote_ip":"198.51.100.2"`) {
			t.Errorf("no request line names the forwarded address:\n%s", e.Logs.String())
		}
	})

	t.Run("a peer outside the trusted networks is not a proxy", func(t *testing.T) {
		_, elsewhere, _ := net.ParseCIDR("10.0.0.0/8")
		e, tid := instance(t, elsewhere)
		m := apitest.MachineClient(t, e, tid, "viewer")
		failClientAuth(t, e, m, "203.0.113.1")
		expectLimited(t, clientCredentials(t, e, m, "198.51.100.2"))
	})
}

// TestSignInLimit: after ten failed sign-ins for one email from one
// address, the sign-in page answers 429 with Retry-After, even to the
// right password; another email is not affected.
func TestSignInLimit(t *testing.T) {
	e := apitest.New(t)
	w := newWorld(t, e, clientSpec{name: "web", clientType: "public", grantTypes: []string{"authorization_code"},
		redirectURIs: []string{callback}, scopes: []string{"tenants.oauth_clients.get"}})
	other := "grace@acme.test"
	createUser(t, e, other)
	b := newBrowser(t, e)
	f := b.get(e.URL("/oauth/sign-in")).form(t, "/oauth/sign-in")
	for i := 0; i < 10; i++ {
		expectStatus(t, b.submit(f, map[string]string{"email": w.email, "password": "wrong"}), http.StatusUnauthorized)
	}
	for _, password := range []string{"wrong", testPassword} {
		p := b.submit(f, map[string]string{"email": strings.ToUpper(w.email), "password": password})
		expectStatus(t, p, http.StatusTooManyRequests)
		expectPageHeaders(t, p)
		if s, err := strconv.Atoi(p.header.Get("Retry-After")); err != nil || s < 1 {
			t.Fatalf("Retry-After %q", p.header.Get("Retry-After"))
		}
		if !strings.Contains(p.problem(), "Too many failed sign-ins") {
			t.Errorf("problem %q", p.problem())
		}
		p.form(t, "/oauth/sign-in")
	}
	p := b.submit(f, map[string]string{"email": other, "password": testPassword})
	expectStatus(t, p, http.StatusOK)
	if !strings.Contains(p.text(), "Signed in as "+other) {
		t.Fatalf("another email after the limit: %s", p.text())
	}
}

// deviceGuesser is a signed-in browser on the /device page.
func deviceGuesser(t *testing.T, e *apitest.Env, email string) (*browser, form) {
	t.Helper()
	b := newBrowser(t, e)
	p := b.signIn(b.get(e.URL("/device")), email)
	expectStatus(t, p, http.StatusOK)
	return b, p.form(t, "/device")
}

func expectDeviceLimited(t *testing.T, p *page) {
	t.Helper()
	expectStatus(t, p, http.StatusTooManyRequests)
	expectPageHeaders(t, p)
	if s, err := strconv.Atoi(p.header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After %q", p.header.Get("Retry-After"))
	}
	if !strings.Contains(p.problem(), "Too many codes") {
		t.Errorf("problem %q", p.problem())
	}
	p.form(t, "/device") // the form again, for later
}

// TestDeviceUserCodeLimit: wrong user codes on /device are limited (RFC
// 8628 §5.1): ten per user, thirty per address, then 429 with
// Retry-After — even for a right code, so guessing learns nothing more.
// The budgets' clock stands still (apitest.WithClock): the address's
// budget refills one code every 2 s, so on the system clock the outcome
// of its 30th code would depend on how long the requests took.
func TestDeviceUserCodeLimit(t *testing.T) {
	w, cfg := deviceWorld(t, apitest.WithClock(jobs.NewManualClock(time.Now())))
	e := w.e
	da, err := cfg.DeviceAuth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	guess := func(b *browser, f form, code string) *page {
		return b.submit(f, map[string]string{"user_code": code})
	}

	createUser(t, e, "mallory@else.test")
	b, f := deviceGuesser(t, e, "mallory@else.test")
	for i := 0; i < 10; i++ {
		expectStatus(t, guess(b, f, "BCDF-GHJK"), http.StatusBadRequest)
	}
	expectDeviceLimited(t, guess(b, f, "BCDF-GHJL"))
	expectDeviceLimited(t, guess(b, f, da.UserCode))

	// Another user at the same address is not blocked by mallory's guesses.
	mb, mf := deviceGuesser(t, e, w.email)
	p := guess(mb, mf, da.UserCode)
	expectStatus(t, p, http.StatusOK)
	p.form(t, "/device/decision")

	// But the address has a budget of its own: 30 wrong codes from it,
	// whoever typed them, block everyone there.
	for _, email := range []string{"eve@else.test", "trudy@else.test"} {
		createUser(t, e, email)
		b, f := deviceGuesser(t, e, email)
		for i := 0; i < 10; i++ {
			expectStatus(t, guess(b, f, "BCDF-GHJK"), http.StatusBadRequest)
		}
	}
	// The address has spent its 30: even the right code from a user with
	// failures left is refused there.
	expectDeviceLimited(t, guess(mb, mf, da.UserCode))
}
