package oauth2_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/internal/app"
	"github.com/oauthd/oauthd/internal/keyring"
	"github.com/oauthd/oauthd/internal/testdb"
)

// The benchmarks drive the whole wired server (app.New, as `oauthd serve`
// builds it, with a JSON request log to io.Discard) in process: requests go
// straight to the handler, so a CPU profile (-cpuprofile) shows the
// server's own costs, not an HTTP client's. Each runs 16 goroutines per
// CPU, as the load run's concurrency 32 on two CPUs. cmd/oauthd-bench
// measures the same paths over real connections.

type benchEnv struct {
	h            http.Handler
	tenant       string
	oauthClient  string // an OAuth client of the tenant, for the GETs
	clientBasic  string // client_secret_basic of a confidential viewer client
	introspector string // client_secret_basic of another confidential client
	token        string // an access token of the first
	memberBasic  string // email:apikey of a tenant admin
}

func benchApp(b *testing.B) *app.App {
	b.Helper()
	kr, err := keyring.New(bytes.Repeat([]byte{7}, keyring.KeySize))
	if err != nil {
		b.Fatal(err)
	}
	a, err := app.New(context.Background(), app.Options{DatabaseURL: testdb.New(b), Keyring: kr, MaxDBConns: 20, Issuer: issuer,
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close() })
	return a
}

func benchSetup(b *testing.B) *benchEnv {
	b.Helper()
	ctx := context.Background()
	a := benchApp(b)
	const rootKey = "bench_root_key_0123456789abcdef0123456789"
	if _, err := a.Tenants.EnsureSuperuser(ctx, "root@bench.test", rootKey); err != nil {
		b.Fatal(err)
	}
	e := &benchEnv{h: a.Server.Handler()}
	root := apitest.BasicOf("root@bench.test", rootKey)
	e.tenant = e.create(b, root, "/v2/tenants", `{"data":{"type":"tenant","attributes":{"name":"bench"}}}`)["id"].(string)
	tp := "/v2/tenants/" + e.tenant
	uid := e.create(b, root, "/v2/users", `{"data":{"type":"user","attributes":{"email":"member@bench.test"}}}`)["id"].(string)
	key := e.create(b, root, "/v2/users/"+uid+"/api-keys", `{"data":{"type":"api-key","attributes":{"name":"bench"}}}`)["key"].(string)
	e.create(b, root, tp+"/members", `{"data":{"type":"member","attributes":{"roles":["admin"],"permissions":[]},`+
		`"relationships":{"user":{"data":{"type":"user","id":"`+uid+`"}}}}}`)
	e.memberBasic = apitest.BasicOf("member@bench.test", key)
	comp := e.create(b, e.memberBasic, tp+"/components", `{"data":{"type":"component","attributes":{"name":"crm",`+
		`"visibility":"tenant","descriptor":{"useOAuthClient":true}}}}`)["id"].(string)
	e.oauthClient = e.create(b, e.memberBasic, tp+"/oauth-clients", `{"data":{"type":"oauth-client","attributes":`+
		`{"client_id":"crm-client","client_secret":"crm-secret-value"},"relationships":{"component":{"data":{"id":"`+comp+`","type":"component"}}}}}`)["id"].(string)
	for i, dst := range []*string{&e.clientBasic, &e.introspector} {
		attrs := e.create(b, e.memberBasic, tp+"/api-clients", `{"data":{"type":"api-client","attributes":{"name":"bot-`+string(rune('a'+i))+
			`","client_type":"confidential","grant_types":["client_credentials"],"roles":["viewer"],"redirect_uris":[],"scopes":[]}}}`)
		*dst = apitest.BasicOf(url.QueryEscape(attrs["client_id"].(string)), url.QueryEscape(attrs["client_secret"].(string)))
	}
	res := e.do(http.MethodPost, "/oauth/token", e.clientBasic, "application/x-www-form-urlencoded", "grant_type=client_credentials")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if res.Code != http.StatusOK || json.Unmarshal(res.Body.Bytes(), &tok) != nil || tok.AccessToken == "" {
		b.Fatalf("token: %d %s", res.Code, res.Body)
	}
	e.token = tok.AccessToken
	return e
}

func (e *benchEnv) do(method, path, auth, ctype, body string) *httptest.ResponseRecorder {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	req.RemoteAddr = "127.0.0.1:40000"
	req.Header.Set("Authorization", auth)
	if body != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if strings.HasPrefix(path, "/v2/") {
		req.Header.Set("Accept", "application/vnd.api+json")
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}

// create POSTs a JSON:API document and returns the new resource's
// attributes with its id under "id".
func (e *benchEnv) create(b *testing.B, auth, path, body string) map[string]any {
	b.Helper()
	res := e.do(http.MethodPost, path, auth, "application/json", body)
	var doc struct {
		Data struct {
			ID         string
			Attributes map[string]any
		}
	}
	if res.Code != http.StatusCreated || json.Unmarshal(res.Body.Bytes(), &doc) != nil {
		b.Fatalf("POST %s: %d %s", path, res.Code, res.Body)
	}
	doc.Data.Attributes["id"] = doc.Data.ID
	return doc.Data.Attributes
}

// parallel runs fn from 16 goroutines per CPU and fails on the first
// unexpected status.
func (e *benchEnv) parallel(b *testing.B, method, path, auth, ctype, body string, valid func([]byte) bool) {
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res := e.do(method, path, auth, ctype, body)
			if res.Code != http.StatusOK || (valid != nil && !valid(res.Body.Bytes())) {
				b.Errorf("%s %s: %d %s", method, path, res.Code, res.Body)
				return
			}
		}
	})
}

// BenchmarkTokenClientCredentials is POST /oauth/token, client_credentials
// with client_secret_basic, the secret already verified once (bcrypt).
func BenchmarkTokenClientCredentials(b *testing.B) {
	e := benchSetup(b)
	e.parallel(b, http.MethodPost, "/oauth/token", e.clientBasic, "application/x-www-form-urlencoded", "grant_type=client_credentials",
		func(body []byte) bool { return bytes.Contains(body, []byte(`"access_token"`)) })
}

// BenchmarkIntrospect is POST /oauth/introspect of a valid token by another
// confidential client of the tenant.
func BenchmarkIntrospect(b *testing.B) {
	e := benchSetup(b)
	e.parallel(b, http.MethodPost, "/oauth/introspect", e.introspector, "application/x-www-form-urlencoded",
		"token="+url.QueryEscape(e.token), func(body []byte) bool { return bytes.Contains(body, []byte(`"active":true`)) })
}

// BenchmarkGetOAuthClient is the same management GET with basic auth (a
// tenant admin's API key) and with the client-credentials bearer token.
func BenchmarkGetOAuthClient(b *testing.B) {
	e := benchSetup(b)
	path := "/v2/tenants/" + e.tenant + "/oauth-clients/" + e.oauthClient
	b.Run("auth=basic", func(b *testing.B) { e.parallel(b, http.MethodGet, path, e.memberBasic, "", "", nil) })
	b.Run("auth=bearer", func(b *testing.B) { e.parallel(b, http.MethodGet, path, "Bearer "+e.token, "", "", nil) })
}
