package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The authorization-server suite: the token endpoint (client_credentials),
// introspection, and the same GET with a bearer token and with basic auth.
// It runs once, on a fresh server, against the last shape's target tenant.

// Concurrency of the suite's scenarios, as the targets in docs/BENCHMARKS.md are stated.
const (
	tokenLowC = 8
	highC     = 32
)

// apiFixture is what the suite creates through the management API: two
// confidential API clients of the target tenant (one that asks for tokens,
// one that introspects them) and a token of the first.
type apiFixture struct {
	clientID     string
	clientSecret string
	clientBasic  string // client_secret_basic for the token client
	introspector string // client_secret_basic for the introspecting client
	token        string // an access token of the token client
	scope        string // its scope, as the token endpoint answered
	// tokens are distinct access tokens of the token client, more than an
	// instance's verified-token cache holds, so that introspecting them in
	// turn pays the full ES256 verification nearly every time.
	tokens []string

	// The first token request of a fresh client on a fresh server loads
	// its credentials; later ones find them cached.
	firstToken, secondToken time.Duration

	// connection is a ready connection (its token fresh) for access-token.
	connection string
	provider   *fakeProvider
}

// oauthBasic is client_secret_basic: RFC 6749 §2.3.1 form-encodes both
// parts before base64 (generated ids and secrets are URL-safe anyway).
func oauthBasic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

const tokenBody = "grant_type=client_credentials"

// setupAuthServer creates the API clients as the caller (a tenant admin)
// and checks every path the suite measures once, outside any window.
func setupAuthServer(base string, caller creds, t *target) (*apiFixture, error) {
	hc := newHTTPClient(1)
	defer hc.CloseIdleConnections()
	f := &apiFixture{}
	id, secret, err := createAPIClient(hc, base, caller, t.tenantID, "bench-deploy-bot")
	if err != nil {
		return nil, err
	}
	f.clientID, f.clientSecret, f.clientBasic = id, secret, oauthBasic(id, secret)
	iid, isecret, err := createAPIClient(hc, base, caller, t.tenantID, "bench-introspector")
	if err != nil {
		return nil, err
	}
	f.introspector = oauthBasic(iid, isecret)

	for i, d := range []*time.Duration{&f.firstToken, &f.secondToken} {
		start := time.Now()
		tok, err := requestToken(hc, base, f.clientBasic)
		*d = time.Since(start)
		if err != nil {
			return nil, fmt.Errorf("token request %d: %w", i+1, err)
		}
		f.token, f.scope = tok.AccessToken, tok.Scope
	}
	status, body, err := callAs(hc, http.MethodPost, base+"/oauth/introspect", f.introspector, formType, jsonDoc, introspectBody(f.token))
	if err != nil {
		return nil, fmt.Errorf("introspect: %w", err)
	}
	if status != http.StatusOK || !active(body) {
		return nil, fmt.Errorf("introspect: %d %s", status, body)
	}
	if f.tokens, err = mintTokens(base, f.clientBasic, distinctTokens); err != nil {
		return nil, err
	}
	path := base + "/v2/tenants/" + t.tenantID.String() + "/oauth-clients/" + t.clients[0].String()
	if status, body, err := call(hc, http.MethodGet, path, "Bearer "+f.token, nil); err != nil || status != http.StatusOK {
		return nil, httpFailure("bearer GET", status, body, err)
	}
	if f.connection, f.provider, err = setupConnection(base, caller, t.tenantID); err != nil {
		return nil, fmt.Errorf("connection: %w", err)
	}
	return f, nil
}

// createAPIClient is Encore's confidential deploy bot: client credentials
// with the viewer role, created through the management API.
func createAPIClient(hc *http.Client, base string, caller creds, tenantID uuid.UUID, name string) (string, string, error) {
	body := `{"data":{"type":"api-client","attributes":{"name":"` + name + `","client_type":"confidential",` +
		`"grant_types":["client_credentials"],"roles":["viewer"],"redirect_uris":[],"scopes":[]}}}`
	status, out, err := call(hc, http.MethodPost, base+"/v2/tenants/"+tenantID.String()+"/api-clients", caller.header(), []byte(body))
	if err != nil || status != http.StatusCreated {
		return "", "", httpFailure("create API client "+name, status, out, err)
	}
	var doc struct {
		Data struct {
			Attributes struct {
				ClientID     string `json:"client_id"`
				ClientSecret string `json:"client_secret"`
			}
		}
	}
	if err := json.Unmarshal(out, &doc); err != nil || doc.Data.Attributes.ClientID == "" || doc.Data.Attributes.ClientSecret == "" {
		return "", "", fmt.Errorf("create API client %s: no client_id and client_secret in %s", name, out)
	}
	return doc.Data.Attributes.ClientID, doc.Data.Attributes.ClientSecret, nil
}

// distinctTokens is the size of the token pool the introspect-distinct
// scenario walks: above the server's verified-token cache (20,000), so the
// cache cannot help. The in-process test makes it small.
var distinctTokens = 30000

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	Scope       string `json:"scope"`
}

// requestToken is one client_credentials request of clientBasic.
func requestToken(hc *http.Client, base, clientBasic string) (tokenResponse, error) {
	var tok tokenResponse
	status, body, err := callAs(hc, http.MethodPost, base+"/oauth/token", clientBasic, formType, jsonDoc, []byte(tokenBody))
	if err != nil || status != http.StatusOK {
		return tok, httpFailure("token request", status, body, err)
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return tok, fmt.Errorf("token response without access_token: %s", body)
	}
	return tok, nil
}

// mintTokens gets n access tokens for one client, 8 requests at a time.
func mintTokens(base, clientBasic string, n int) ([]string, error) {
	const conc = 8
	out := make([]string, n)
	errs := make(chan error, conc)
	for g := 0; g < conc; g++ {
		go func(g int) {
			hc := newHTTPClient(1)
			defer hc.CloseIdleConnections()
			for i := g; i < n; i += conc {
				tok, err := requestToken(hc, base, clientBasic)
				if err != nil {
					errs <- err
					return
				}
				out[i] = tok.AccessToken
			}
			errs <- nil
		}(g)
	}
	for g := 0; g < conc; g++ {
		if err := <-errs; err != nil {
			return nil, err
		}
	}
	return out, nil
}

func introspectBody(token string) []byte {
	return []byte("token=" + url.QueryEscape(token) + "&token_type_hint=access_token")
}

func active(body []byte) bool { return bytes.Contains(body, []byte(`"active":true`)) }

func issued(body []byte) bool { return bytes.Contains(body, []byte(`"access_token":"`)) }

func tokenScenario(c int, about string) scenario {
	return scenario{
		name: fmt.Sprintf("token-c%d", c), ops: []string{"token"}, concurrency: c, about: about,
		iterate: func(w *worker) {
			w.doAs(request{op: "token", method: http.MethodPost, url: w.base + "/oauth/token", auth: w.t.api.clientBasic,
				ctype: formType, accept: jsonDoc, body: []byte(tokenBody), want: http.StatusOK, valid: issued})
		},
	}
}

var authScenarios = []scenario{
	tokenScenario(tokenLowC, "POST /oauth/token `grant_type=client_credentials` with client_secret_basic: a confidential API client with the `viewer` role (created through `POST /v2/tenants/{tid}/api-clients`); every answer must hold an access_token"),
	tokenScenario(highC, "the same at concurrency 32"),
	{
		name: "introspect", ops: []string{"introspect"}, concurrency: highC,
		about: "POST /oauth/introspect of the token client's access token, authenticated (client_secret_basic) as another confidential API client of the same tenant; every answer must say `\"active\":true`",
		iterate: func(w *worker) {
			w.doAs(request{op: "introspect", method: http.MethodPost, url: w.base + "/oauth/introspect", auth: w.t.api.introspector,
				ctype: formType, accept: jsonDoc, body: introspectBody(w.t.api.token), want: http.StatusOK, valid: active})
		},
	},
	{
		name: "introspect-distinct", ops: []string{"introspect-distinct"}, concurrency: highC,
		about: "the same introspection, but every request names another of 30,000 distinct access tokens of the token client, taken in turn (more than the server's verified-token cache of 20,000 holds): the cost when every token is new to the instance, ES256 verification included; for comparison with **introspect**, not a target of its own",
		iterate: func(w *worker) {
			pool := w.t.api.tokens
			tok := pool[(w.id+w.seq*highC)%len(pool)]
			w.seq++
			w.doAs(request{op: "introspect-distinct", method: http.MethodPost, url: w.base + "/oauth/introspect", auth: w.t.api.introspector,
				ctype: formType, accept: jsonDoc, body: introspectBody(tok), want: http.StatusOK, valid: active})
		},
	},
	{
		name: "create-api-client", ops: []string{"create-api-client"}, concurrency: tokenLowC,
		about: "POST /v2/tenants/{tid}/api-clients with basic auth: a confidential client with the `viewer` role, its first secret generated, stored in its hashed form and shown once; every answer must hold a `client_secret`",
		iterate: func(w *worker) {
			body := `{"data":{"type":"api-client","attributes":{"name":"bench-created","client_type":"confidential",` +
				`"grant_types":["client_credentials"],"roles":["viewer"],"redirect_uris":[],"scopes":[]}}}`
			w.doAs(request{op: "create-api-client", method: http.MethodPost, url: w.base + "/v2/tenants/" + w.t.tenantID.String() + "/api-clients",
				auth: w.auth, ctype: jsonDoc, accept: jsonAPI, body: []byte(body), want: http.StatusCreated,
				valid: func(b []byte) bool { return bytes.Contains(b, []byte(`"client_secret":"o2s_`)) }})
		},
	},
	{
		// get-basic and get-bearer run interleaved (see driveAuth).
		name: "get-basic", ops: []string{"get-basic"}, concurrency: highC,
		about: "GET /v2/tenants/{tid}/oauth-clients/{a random one of the tenant's clients} with basic auth (`email:apikey` of a member with the `admin` role)",
		iterate: func(w *worker) {
			id := w.t.clients[w.rng.IntN(len(w.t.clients))]
			w.do("get-basic", http.MethodGet, clientsPath(w)+"/"+id.String(), nil, http.StatusOK)
		},
	},
	{
		name: "access-token", ops: []string{"access-token"}, concurrency: highC,
		about: "POST /v2/tenants/{tid}/connections/{id}/access-token with the same basic auth (the member also holds `tenants.connections.token`), on a ready connection whose token lives a day: the stored token, decrypted and handed out, every read audited; compared with **get-basic**",
		iterate: func(w *worker) {
			w.doAs(request{op: "access-token", method: http.MethodPost, url: w.base + "/v2/tenants/" + w.t.tenantID.String() + "/connections/" + w.t.api.connection + "/access-token",
				auth: w.auth, ctype: jsonDoc, accept: jsonAPI, want: http.StatusOK, valid: func(b []byte) bool { return bytes.Contains(b, []byte(`"access_token":"`)) }})
		},
	},
	{
		name: "get-bearer", ops: []string{"get-bearer"}, concurrency: highC,
		about: "the same GET with `Authorization: Bearer` and the token client's access token (scope `role:viewer`)",
		iterate: func(w *worker) {
			id := w.t.clients[w.rng.IntN(len(w.t.clients))]
			w.doAs(request{op: "get-bearer", method: http.MethodGet, url: clientsPath(w) + "/" + id.String(), auth: "Bearer " + w.t.api.token,
				ctype: jsonDoc, accept: jsonAPI, want: http.StatusOK})
		},
	},
}

// authOptions say how driveAuth runs: concurrency, when not 0, replaces
// the scenarios' own (the tiny test); probe, when set, measures CPU in
// the interleaved scenarios; only, when set, names the scenarios to run.
type authOptions struct {
	concurrency      int
	warmup, duration time.Duration
	probe            *cpuProbe
	only             map[string]bool
}

// driveAuth runs authScenarios against base. get-basic and the scenarios
// compared with it (those right after it: access-token, get-bearer) run as
// A B C C B A, each leg half the measured time, and each side's legs are
// summed: load from elsewhere on a shared machine that drifts during the
// minute weighs on every side alike. With a probe, the interleaved
// scenarios also get the CPU time the server and PostgreSQL spent in
// their windows.
func driveAuth(ctx context.Context, base, auth string, t *target, o authOptions) (map[string][]stats, error) {
	out := map[string][]stats{}
	c, warmup, duration, probe := o.concurrency, o.warmup, o.duration, o.probe
	chosen := func(name string) bool { return o.only == nil || o.only[name] }
	withConcurrency := func(sc scenario) scenario {
		if c != 0 {
			sc.concurrency = c
		}
		return sc
	}
	for i := 0; i < len(authScenarios); i++ {
		sc := withConcurrency(authScenarios[i])
		if sc.name != "get-basic" {
			if !chosen(sc.name) {
				continue
			}
			ws, _, used, err := drive(ctx, sc, base, auth, t, sc.concurrency, warmup, duration, probe)
			if err != nil {
				return nil, err
			}
			res := summarize(sc, ws, sc.concurrency, duration)
			res[0].CPU = used
			out[sc.name] = res
			logResults(res)
			continue
		}
		side := []scenario{sc}
		for i+1 < len(authScenarios) && comparedWithBasic[authScenarios[i+1].name] {
			i++
			if chosen(authScenarios[i].name) {
				side = append(side, withConcurrency(authScenarios[i]))
			}
		}
		if !chosen(sc.name) && len(side) == 1 {
			continue
		}
		order := append([]scenario{}, side...)
		for j := len(side) - 1; j >= 0; j-- {
			order = append(order, side[j])
		}
		legs := map[string][]*worker{}
		cpu := map[string]cpuTimes{}
		for _, leg := range order {
			ws, _, used, err := drive(ctx, leg, base, auth, t, leg.concurrency, warmup, duration/2, probe)
			if err != nil {
				return nil, err
			}
			legs[leg.name] = append(legs[leg.name], ws...)
			cpu[leg.name] = cpu[leg.name].plus(used)
		}
		for _, x := range side {
			// Both legs of a side ran for duration/2: the samples of the
			// two together cover duration.
			res := summarize(x, legs[x.name], x.concurrency, 2*(duration/2))
			res[0].CPU = cpu[x.name]
			out[x.name] = res
			logResults(res)
		}
	}
	return out, nil
}

// comparedWithBasic are the scenarios that run interleaved with get-basic.
var comparedWithBasic = map[string]bool{"access-token": true, "get-bearer": true}

// authRun is the suite's outcome.
type authRun struct {
	ceiling    *ceilingRun // the token endpoint against the ceiling; nil when not run
	shape      string
	fixture    *apiFixture
	results    map[string][]stats // by scenario
	loadBefore string
	loadAfter  string
	serverErrs int64
}

func (a *authRun) result(scn string) stats {
	if rs := a.results[scn]; len(rs) > 0 {
		return rs[0]
	}
	return stats{}
}

// The targets for the authorization server (docs/BENCHMARKS.md).
const (
	targetTokensPerSec     = 3000
	aimTokensPerSec        = 5000
	targetTokenP99         = 20 * time.Millisecond
	targetIntrospectPerSec = 10000
	// targetCeilingRatio bounds oauthd's CPU per token against the ceiling's.
	targetCeilingRatio = 1.05
)

type authTarget struct {
	what, measured string
	pass           bool
}

func authTargets(a *authRun) []authTarget {
	tok, in := a.result(fmt.Sprintf("token-c%d", highC)), a.result("introspect")
	basic, bearer, token := a.result("get-basic"), a.result("get-bearer"), a.result("access-token")
	clean := func(ss ...stats) bool {
		for _, s := range ss {
			if s.Requests == 0 || s.Errors > 0 {
				return false
			}
		}
		return true
	}
	aim := "below the aim of " + thousands(aimTokensPerSec)
	if tok.RPS >= aimTokensPerSec {
		aim = "at or above the aim of " + thousands(aimTokensPerSec)
	}
	var out []authTarget
	if a.ceiling != nil {
		o, c := a.ceiling.pooled(false), a.ceiling.pooled(true)
		r := ratio(float64(o.perRequest()), float64(c.perRequest()))
		out = append(out, authTarget{fmt.Sprintf("oauthd's CPU per client_credentials token ≤ %.2fx the ceiling's (concurrency %d)", targetCeilingRatio, highC),
			fmt.Sprintf("%.2fx (%s vs %s per token; per round %s)%s", r, cpuMS(o.cpu.server, o.requests), cpuMS(c.cpu.server, c.requests),
				ratioSpread(a.ceiling.ratios()), errNote(stats{Requests: o.requests + c.requests, Errors: o.errors + c.errors})),
			o.errors+c.errors == 0 && o.requests > 0 && c.requests > 0 && r <= targetCeilingRatio})
	}
	return append(out, []authTarget{
		{fmt.Sprintf("client_credentials tokens/s at concurrency %d ≥ %s", highC, thousands(targetTokensPerSec)),
			fmt.Sprintf("%.0f/s (%s)%s", tok.RPS, aim, errNote(tok)), clean(tok) && tok.RPS >= targetTokensPerSec},
		{fmt.Sprintf("token p99 at concurrency %d < %d ms", highC, targetTokenP99.Milliseconds()),
			ms(tok.P99) + errNote(tok), clean(tok) && tok.P99 < targetTokenP99},
		{fmt.Sprintf("introspections/s at concurrency %d ≥ %s", highC, thousands(targetIntrospectPerSec)),
			fmt.Sprintf("%.0f/s%s", in.RPS, errNote(in)), clean(in) && in.RPS >= targetIntrospectPerSec},
		{fmt.Sprintf("connection access-token req/s ≥ basic-auth GET req/s (concurrency %d)", highC),
			fmt.Sprintf("access-token %.0f/s, p99 %s vs basic GET %.0f/s, p99 %s (%.2fx)%s%s", token.RPS, ms(token.P99), basic.RPS, ms(basic.P99),
				ratio(token.RPS, basic.RPS), errNote(token), errNote(basic)),
			clean(basic, token) && token.RPS >= basic.RPS},
		{fmt.Sprintf("Bearer GET req/s ≥ basic-auth GET req/s (concurrency %d)", highC),
			fmt.Sprintf("bearer %.0f/s vs basic %.0f/s (%.2fx)%s%s", bearer.RPS, basic.RPS, ratio(bearer.RPS, basic.RPS), errNote(bearer), errNote(basic)),
			clean(basic, bearer) && bearer.RPS >= basic.RPS},
	}...)
}

func thousands(n int) string {
	if n < 1000 {
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("%s,%03d", thousands(n/1000), n%1000)
}

func errNote(s stats) string {
	switch {
	case s.Requests == 0:
		return ", no requests measured"
	case s.Errors > 0:
		return fmt.Sprintf(", %d errors", s.Errors)
	}
	return ""
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func authSection(b *strings.Builder, info *runInfo) {
	a := info.auth
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	pf := func(ok bool) string { return map[bool]string{true: "**PASS**", false: "**FAIL**"}[ok] }

	w("## The authorization server: token endpoint, introspection, bearer tokens\n\n")
	w("Targets, judged on this run's figures (a scenario with any error fails its targets). ")
	w("For scale, Ory Hydra's default setup was measured at about 200 tokens/s on this 2-core machine (about 20/s with bcrypt cost 10) in an earlier, separate run; it is not measured here.\n\n")
	w("| target | measured | result |\n|---|---|---|\n")
	for _, t := range authTargets(a) {
		w("| %s | %s | %s |\n", t.what, t.measured, pf(t.pass))
	}
	w("\n")

	w("| scenario | operation | concurrency | req/s | p50 | p90 | p99 | max | CPU per request (oauthd + PostgreSQL) | requests | errors |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, sc := range authScenarios {
		for _, r := range a.results[sc.name] {
			w("| %s | %s | %d | %.0f | %s | %s | %s | %s | %s | %d | %s |\n", sc.name, r.Op, r.Concurrency, r.RPS, ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max),
				cpuCell(r), r.Requests, errCell(r))
		}
	}
	w("\n")

	basic, bearer := a.result("get-basic"), a.result("get-bearer")
	w("A connection's access token (the cached path) beside the basic-auth GET of an OAuth client, with the same credentials; they ran interleaved with the bearer GET below:\n\n")
	tok := a.result("access-token")
	w("| | basic-auth GET of an OAuth client | POST .../connections/{id}/access-token | access-token ÷ GET |\n|---|---|---|---|\n")
	w("| req/s | %.0f | %.0f | %.2fx |\n", basic.RPS, tok.RPS, ratio(tok.RPS, basic.RPS))
	w("| p50 | %s | %s | %.2fx |\n", ms(basic.P50), ms(tok.P50), ratio(float64(tok.P50), float64(basic.P50)))
	w("| p99 | %s | %s | %.2fx |\n", ms(basic.P99), ms(tok.P99), ratio(float64(tok.P99), float64(basic.P99)))
	cpuRows(w, basic, tok)
	w("| errors | %d | %d | |\n\n", basic.Errors, tok.Errors)
	w("Bearer token and basic auth on the same GET, side by side. They ran interleaved, basic, access-token, bearer, bearer, access-token, basic, each leg half the measured time with its own warm-up; each side's figures are its two legs together, so load elsewhere on the machine that drifts during the run weighs on both alike:\n\n")
	w("| | basic auth (`email:apikey`) | Bearer (client-credentials token) | bearer ÷ basic |\n|---|---|---|---|\n")
	w("| req/s | %.0f | %.0f | %.2fx |\n", basic.RPS, bearer.RPS, ratio(bearer.RPS, basic.RPS))
	w("| p50 | %s | %s | %.2fx |\n", ms(basic.P50), ms(bearer.P50), ratio(float64(bearer.P50), float64(basic.P50)))
	w("| p99 | %s | %s | %.2fx |\n", ms(basic.P99), ms(bearer.P99), ratio(float64(bearer.P99), float64(basic.P99)))
	cpuRows(w, basic, bearer)
	w("| errors | %d | %d | |\n\n", basic.Errors, bearer.Errors)
	w("CPU per request is the CPU time (user and system, from Linux's /proc) that the oauthd process, and PostgreSQL's server with all its processes, spent in a scenario's measured windows, divided by the requests answered in them; the load generator and anything else on the machine are not in it. ")
	w("PostgreSQL's time includes work a scenario leaves behind, such as the audit trail's batch writer (which runs inside oauthd and whose INSERTs run in PostgreSQL).\n\n")

	if a.ceiling != nil {
		ceilingSection(w, a.ceiling)
	}
	w("What each scenario sends:\n\n")
	for _, sc := range authScenarios {
		w("- **%s**: %s.\n", sc.name, sc.about)
	}
	w("\n")
	f := a.fixture
	w("- Setup: the two API clients are created through `POST /v2/tenants/{tid}/api-clients` by the bench's tenant admin, on a freshly started server (empty caches), in the target tenant of shape %s. ", a.shape)
	w("The token client's token has scope `%s`.\n", f.scope)
	w("- The first token request of the fresh client took %s (its credentials loaded, its secret's SHA-256 compared with the stored digest), the second %s (the credentials cached). ", ms(f.firstToken), ms(f.secondToken))
	w("Every measured token request is of the second kind. The Go benchmarks below break the costs down in process: `BenchmarkBcrypt` (one bcrypt comparison at cost 10, what a secret stored as a bcrypt hash by an earlier version costs once per instance), `BenchmarkAuthenticate` (one query and a digest comparison), `BenchmarkSignAccessToken` and `BenchmarkParseAccessToken` (ES256 signing and verifying), and the endpoints through the whole handler stack.\n")
	w("- Load average (1/5/15 min) when this suite started: %s; when it ended: %s. Server log lines at level ERROR during the suite: %d.\n\n", a.loadBefore, a.loadAfter, a.serverErrs)
}

// cpuRows are the CPU-per-request rows of a side-by-side table of a and b.
func cpuRows(w func(string, ...any), a, b stats) {
	for _, row := range []struct {
		name string
		a, b time.Duration
	}{{"oauthd CPU per request", a.CPU.server, b.CPU.server}, {"PostgreSQL CPU per request", a.CPU.postgres, b.CPU.postgres},
		{"both, per request", a.CPU.server + a.CPU.postgres, b.CPU.server + b.CPU.postgres}} {
		if row.a <= 0 && row.b <= 0 {
			continue
		}
		pa, pb := float64(row.a)/float64(max(a.Requests, 1)), float64(row.b)/float64(max(b.Requests, 1))
		w("| %s | %s | %s | %.2fx |\n", row.name, perRequest(row.a, a.Requests), perRequest(row.b, b.Requests), ratio(pb, pa))
	}
}

func errCell(r stats) string {
	errs := fmt.Sprint(r.Errors)
	if r.Errors > 0 {
		errs += " (" + errorSummary(r.ErrorKinds) + ")"
	}
	return errs
}

// cpuCell is a scenario's CPU per request: oauthd's and PostgreSQL's.
func cpuCell(r stats) string {
	if r.CPU.server <= 0 && r.CPU.postgres <= 0 {
		return "–"
	}
	return perRequest(r.CPU.server, r.Requests) + " + " + perRequest(r.CPU.postgres, r.Requests)
}
