package api_test

// A fake OAuth provider (an httptest server) for the connection tests: an
// authorization endpoint that sends the browser straight back with a code
// (or with an error), and a token endpoint that checks PKCE, the redirect
// URI and the client authentication, issues tokens, rotates refresh tokens
// and detects reuse, or answers as a test scripts it.

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
)

type fakeProvider struct {
	t      testing.TB
	srv    *httptest.Server
	id     string
	secret string
	// basic: the client must authenticate with HTTP Basic, else in the form.
	basic bool

	mu sync.Mutex
	// deny makes the authorization endpoint answer error=access_denied.
	deny bool
	// noRefresh makes the token endpoint issue no refresh token.
	noRefresh bool
	// keepRefresh makes refreshes answer without a new refresh token.
	keepRefresh bool
	// script answers the next token requests instead of the default.
	script     []http.HandlerFunc
	challenges map[string]string // code → PKCE challenge
	redirects  map[string]string // code → redirect_uri
	refresh    string            // the newest refresh token issued
	valid      map[string]bool   // refresh tokens that work (one per grant)
	used       map[string]bool   // refresh tokens presented before
	issued     []string          // access tokens, in order
	tokenCalls int
	refreshes  int
	reuse      int // refresh tokens presented twice
	problems   []string
}

func newFakeProvider(t testing.TB, basic bool) *fakeProvider {
	p := &fakeProvider{t: t, id: "fake-client-" + uniq(), secret: "fake-secret-" + uniq(), basic: basic,
		challenges: map[string]string{}, redirects: map[string]string{}, used: map[string]bool{}, valid: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/authorize", p.authorize)
	mux.HandleFunc("/token", p.token)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *fakeProvider) problem(format string, args ...any) {
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

func (p *fakeProvider) authorize(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	q := r.URL.Query()
	if q.Get("response_type") != "code" || q.Get("client_id") != p.id || q.Get("code_challenge_method") != "S256" ||
		len(q.Get("code_challenge")) != 43 || q.Get("state") == "" || q.Get("redirect_uri") == "" {
		p.problem("bad authorization request: %s", r.URL.RawQuery)
	}
	back, _ := url.Parse(q.Get("redirect_uri"))
	v := url.Values{"state": {q.Get("state")}}
	if p.deny {
		v.Set("error", "access_denied")
		v.Set("error_description", "The user said no")
	} else {
		code := "code-" + uniq()
		p.challenges[code], p.redirects[code] = q.Get("code_challenge"), q.Get("redirect_uri")
		v.Set("code", code)
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (p *fakeProvider) token(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokenCalls++
	if err := r.ParseForm(); err != nil {
		p.problem("token request form: %v", err)
	}
	if len(p.script) > 0 {
		next := p.script[0]
		p.script = p.script[1:]
		p.mu.Unlock()
		next(w, r)
		p.mu.Lock()
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if basic != p.basic || id != p.id || secret != p.secret {
		p.problem("client authentication: basic=%v id=%q", basic, id)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "wrong client")
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		code := r.PostForm.Get("code")
		challenge, ok := p.challenges[code]
		delete(p.challenges, code)
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge || r.PostForm.Get("redirect_uri") != p.redirects[code] {
			p.problem("code exchange: code known %v, verifier or redirect_uri wrong", ok)
			oauthError(w, http.StatusBadRequest, "invalid_grant", "bad code")
			return
		}
		p.issue(w, "", !p.noRefresh)
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		if p.used[rt] {
			p.reuse++
		}
		if !p.valid[rt] || p.used[rt] {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "refresh token not valid")
			return
		}
		p.refreshes++
		p.issue(w, rt, !p.keepRefresh)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "")
	}
}

// issue answers with a new access token and, with rotate, a new refresh
// token (the one presented, presented, is then used up).
func (p *fakeProvider) issue(w http.ResponseWriter, presented string, rotate bool) {
	access := fmt.Sprintf("access-%d-%s", len(p.issued)+1, uniq())
	p.issued = append(p.issued, access)
	body := map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 3600, "scope": "read write"}
	if rotate {
		if presented != "" {
			p.used[presented] = true
		}
		p.refresh = "refresh-" + uniq()
		p.valid[p.refresh] = true
		body["refresh_token"] = p.refresh
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// then scripts the next token answers.
func (p *fakeProvider) then(h ...http.HandlerFunc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.script = append(p.script, h...)
}

func (p *fakeProvider) calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tokenCalls
}

func (p *fakeProvider) lastIssued() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.issued[len(p.issued)-1]
}

// checkClean fails the test on any request the provider found wrong.
func (p *fakeProvider) checkClean(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.problems) > 0 || p.reuse > 0 {
		t.Fatalf("the provider saw bad requests: %v (refresh tokens reused: %d)", p.problems, p.reuse)
	}
}

// descriptor is a component.json that connects through this provider.
func (p *fakeProvider) descriptor() map[string]any {
	auth := "body"
	if p.basic {
		auth = "basic"
	}
	return map[string]any{
		"useOAuthClient": true,
		"envVars":        map[string]any{"FAKE_CLIENT_ID": map[string]any{"required": true}, "FAKE_CLIENT_SECRET": map[string]any{"required": true}},
		"credentials": map[string]any{"oauth2": map[string]any{
			"client_id": "{{FAKE_CLIENT_ID}}", "client_secret": "{{FAKE_CLIENT_SECRET}}",
			"auth_uri": p.srv.URL + "/authorize", "token_uri": p.srv.URL + "/token",
			"scopes": []string{"read", "write", "offline_access"}, "client_auth": auth,
		}},
	}
}

// connWorld is a tenant whose OAuth client for a component reaches a fake
// provider, and a member who may do everything with connections.
type connWorld struct {
	e         *apitest.Env
	p         *fakeProvider
	tid       string
	component string
	client    string // the OAuth client's row id
	owner     apitest.Creds
}

func newConnWorld(t *testing.T, basic bool, opts ...apitest.Option) *connWorld {
	t.Helper()
	e := apitest.New(t, append([]apitest.Option{apitest.WithOutboundAllowPrivate()}, opts...)...)
	w := &connWorld{e: e, p: newFakeProvider(t, basic)}
	w.tid = newTenant(t, e)
	w.owner = newMember(t, e, w.tid, []string{"owner"}, nil)
	w.component = newComponent(t, e, w.tid, &w.owner, map[string]any{"descriptor": w.p.descriptor()})
	w.client = mustOAuthClient(t, e, w.tid, &w.owner, w.component, w.p.id, w.p.secret)
	return w
}

func (w *connWorld) path(suffix string) string { return tenantPath(w.tid, "/connections"+suffix) }

// create makes a connection and returns its id and authorize_url.
func (w *connWorld) create(t testing.TB, name string) (string, string) {
	t.Helper()
	r := w.e.Post(w.path(""), &w.owner, doc("connection", map[string]any{"name": name},
		map[string]any{"component": rel("component", w.component)})).ExpectStatus(t, http.StatusCreated)
	link, _ := r.Attr(t, "authorize_url").(string)
	if r.Attr(t, "state") != "pending" || !strings.HasPrefix(link, w.e.URL("/connect/")) || relID(t, r.Data(t), "oauth-client") != w.client {
		t.Fatalf("created connection: %s", r.Body)
	}
	return r.ID(t), link
}

// connectBrowser is a cookie-keeping browser that follows every redirect
// (oauthd, then the provider, then oauthd again); oauthd's answers are
// checked against openapi.yaml.
func connectBrowser(t testing.TB, e *apitest.Env) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: e.Transport(), Jar: jar}
}

// visit GETs a URL with the browser and returns the final status, URL and page.
func visit(t testing.TB, b *http.Client, u string) (int, *url.URL, string) {
	t.Helper()
	res, err := b.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer func() { _ = res.Body.Close() }()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return res.StatusCode, res.Request.URL, sb.String()
}

// connect creates a connection and runs the browser dance to its end.
func (w *connWorld) connect(t testing.TB, name string) string {
	t.Helper()
	id, link := w.create(t, name)
	status, at, page := visit(t, connectBrowser(t, w.e), link)
	if status != http.StatusOK || at.Path != "/connect/callback" || !strings.Contains(page, "The account is connected") {
		t.Fatalf("dance ended with %d at %s: %s", status, at, page)
	}
	return id
}
