package oauth2_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/internal/app"
	"github.com/oauthd/oauthd/internal/keyring"
	"github.com/oauthd/oauthd/internal/testdb"
	"golang.org/x/crypto/bcrypt"
)

// rfcErrorCodes are the error codes a token endpoint may answer with (RFC
// 6749 §5.2 and RFC 8628 §3.5).
var rfcErrorCodes = map[string]bool{
	"invalid_request": true, "invalid_client": true, "invalid_grant": true, "unauthorized_client": true,
	"unsupported_grant_type": true, "invalid_scope": true,
	"authorization_pending": true, "slow_down": true, "access_denied": true, "expired_token": true,
}

// FuzzTokenRequest sends arbitrary requests to the real token endpoint —
// the whole Echo stack, the API clients service and Postgres, in process —
// with arbitrary bodies, content types, Accept and Authorization headers.
// In seeds and inputs, {id} and {secret} stand for a real confidential
// client's credentials, so the fuzzer also reaches the grants. No input
// may get a 5xx; every 4xx must be an RFC 6749 error (JSON unless Accept
// asks for a form), and every 200 a token.
//
// The server, its database and the client are set up once per fuzz
// process, not per input (see fuzzServer).
func FuzzTokenRequest(f *testing.F) {
	handler, m := fuzzServer(f)
	fill := func(s string) string {
		return strings.NewReplacer("{id}", m.Client.ClientID, "{secret}", m.Secret).Replace(s)
	}
	basicOf := apitest.BasicOf
	const formCT = "application/x-www-form-urlencoded"
	for _, s := range [][4]string{
		{"grant_type=client_credentials&client_id={id}&client_secret={secret}", formCT, "", ""},
		{"grant_type=client_credentials", formCT, "application/x-www-form-urlencoded", basicOf("{id}", "{secret}")},
		{"grant_type=client_credentials&scope=role:viewer,tenants.flows.get", formCT, "application/json;q=0.1, application/x-www-form-urlencoded", basicOf("{id}", "{secret}")},
		{"grant_type=client_credentials&scope=tenants.nothing", formCT, "", basicOf("{id}", "{secret}")},
		{"grant_type=client_credentials", formCT, "", basicOf("\xff", "x")},
		{"grant_type=client_credentials", formCT, "", basicOf("%ff", "x")},
		{"grant_type=client_credentials", formCT, "", basicOf("%00", "x")},
		{"grant_type=client_credentials", formCT, "", basicOf("{id}\x00", "x")},
		{"grant_type=client_credentials", formCT, "", basicOf("{id}", "%ff%00")},
		{"grant_type=client_credentials", formCT, "", basicOf("%zz", "x")},
		{"grant_type=client_credentials", formCT, "", "Basic !!!"},
		{"grant_type=client_credentials", formCT, "", "Basic"},
		{"grant_type=client_credentials", formCT, "", "Bearer x.y.z"},
		{"grant_type=client_credentials&client_id=o2c_%ff&client_secret=x", formCT, "", ""},
		{"grant_type=client_credentials&client_id=" + strings.Repeat("o2c_", 100), formCT, "", ""},
		{"grant_type=authorization_code&code=oac_x&redirect_url=https%3A%2F%2Fa&code_verifier=v", "application/x-www-form-urlencoded; charset=utf-8", "application/x-www-form-urlencoded", basicOf("{id}", "{secret}")},
		{"grant_type=refresh_token&refresh_token=%ff&scope=a,b%20c,,", formCT, "application/json", basicOf("{id}", "{secret}")},
		{"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=odc_", formCT, "", basicOf("{id}", "{secret}")},
		{"grant_type=a&grant_type=b", formCT, "", ""},
		{"grant_type=%00", formCT, "", ""},
		{"%zz=1", formCT, "", ""},
		{`{"grant_type":"client_credentials"}`, "application/json", "", basicOf("{id}", "{secret}")},
		{"scope=\xff\xfe", formCT, "", ""},
		{"", "", "", ""},
		{"a=b", "multipart/form-data; boundary=x", "", ""},
		{"a=b", "application/x-www-form-urlencoded; =", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, body, contentType, accept, authorization string) {
		req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(fill(body)))
		for name, v := range map[string]string{"Content-Type": contentType, "Accept": accept, "Authorization": fill(authorization)} {
			if v != "" {
				req.Header[name] = []string{v} // as sent, even when net/http would refuse to send it
			}
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		res := rec.Result()
		raw := rec.Body.Bytes()
		if res.StatusCode >= 500 {
			t.Fatalf("status %d: %s", res.StatusCode, raw)
		}
		if res.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("status %d without Cache-Control: no-store", res.StatusCode)
		}
		fields := responseFields(t, res, raw)
		// A form-encoded answer only when Accept asked for one.
		if strings.HasPrefix(res.Header.Get("Content-Type"), formCT) &&
			!strings.Contains(strings.ToLower(accept), "application/x-www-form-urlencoded") {
			t.Fatalf("form-encoded answer to Accept %q", accept)
		}
		switch {
		case res.StatusCode == http.StatusOK:
			if fields["access_token"] == "" || fields["token_type"] != "Bearer" || fields["actor"] != m.Client.ClientID {
				t.Fatalf("200 without a token: %s", raw)
			}
		case res.StatusCode >= 400:
			if !rfcErrorCodes[fields["error"]] {
				t.Fatalf("status %d with error %q: %s", res.StatusCode, fields["error"], raw)
			}
			if res.StatusCode == http.StatusUnauthorized && len(req.Header["Authorization"]) > 0 &&
				strings.EqualFold(strings.SplitN(req.Header.Get("Authorization"), " ", 2)[0], "Basic") &&
				!strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Fatalf("401 to basic auth without a Basic challenge: %s", raw)
			}
			if res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		default:
			t.Fatalf("status %d: %s", res.StatusCode, raw)
		}
	})
}

// fuzzServer is the whole server as `oauthd serve` wires it, on a fresh
// database, with a confidential client-credentials client (role viewer).
// Its log goes nowhere: a fuzz run sends millions of requests, and a 5xx
// shows in the status anyway.
func fuzzServer(f *testing.F) (http.Handler, apitest.APIClient) {
	f.Helper()
	ctx := context.Background()
	kr, err := keyring.New(apitest.TestMasterKey)
	if err != nil {
		f.Fatal(err)
	}
	a, err := app.New(ctx, app.Options{DatabaseURL: testdb.New(f), Keyring: kr, MaxDBConns: 10, BcryptCost: bcrypt.MinCost,
		Issuer: "https://oauthd.test", Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = a.Close() })
	tenant, err := a.Tenants.CreateTenant(ctx, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	c, secret, err := a.APIClients.Create(ctx, tenant.ID, nil, apiclients.NewClient{Name: "fuzz-bot",
		ClientType: apiclients.TypeConfidential, GrantTypes: []string{apiclients.GrantClientCredentials},
		Roles: []string{"viewer"}, RedirectURIs: []string{}, Scopes: []string{}}, nil)
	if err != nil {
		f.Fatal(err)
	}
	// The credentials work, so the seeds that use them reach the grants.
	h := a.Server.Handler()
	req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.ClientID, secret)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		f.Fatalf("token with the fuzz client's credentials: %d %s", rec.Code, rec.Body)
	}
	return h, apitest.APIClient{TenantID: tenant.ID.String(), Client: c, Secret: secret}
}

// responseFields decodes a token endpoint answer, JSON or form-encoded as
// its Content-Type says; anything else fails the test.
func responseFields(t *testing.T, res *http.Response, raw []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	switch ct := res.Header.Get("Content-Type"); {
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		v, err := url.ParseQuery(string(raw))
		if err != nil {
			t.Fatalf("form body %q: %v", raw, err)
		}
		for k := range v {
			out[k] = v.Get(k)
		}
	case strings.HasPrefix(ct, "application/json"):
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("JSON body %q: %v", raw, err)
		}
		for k, val := range m {
			if s, ok := val.(string); ok {
				out[k] = s
			}
		}
	default:
		t.Fatalf("status %d with Content-Type %q: %s", res.StatusCode, ct, raw)
	}
	return out
}
