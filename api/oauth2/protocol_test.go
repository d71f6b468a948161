package oauth2_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
)

// TestProtocolEndpointsWrongMethod: any method but POST on the RFC
// endpoints is 405 with Allow, as an RFC 6749 error (not the JSON:API
// document of the management API).
func TestProtocolEndpointsWrongMethod(t *testing.T) {
	e := apitest.New(t)
	for _, path := range []string{"/oauth/token", "/oauth/introspect", "/oauth/revoke", "/oauth/device_authorization", "/oauth/token/"} {
		for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch} {
			a := apitest.DoOAuth(t, e, method, path, apitest.FormType, nil, nil)
			a.ExpectError(t, http.StatusMethodNotAllowed, "invalid_request")
			if allow := a.Header.Get("Allow"); !strings.Contains(allow, "POST") || strings.Contains(allow, method) {
				t.Errorf("%s %s: Allow %q", method, path, allow)
			}
			if d := a.Str("error_description"); !strings.Contains(d, method) || !strings.Contains(d, "POST") {
				t.Errorf("%s %s: description %q names neither the method nor POST", method, path, d)
			}
		}
		// HEAD: the same status and headers, no body.
		a := apitest.DoOAuth(t, e, http.MethodHead, path, apitest.FormType, nil, nil)
		if a.Status != http.StatusMethodNotAllowed || !strings.Contains(a.Header.Get("Allow"), "POST") || len(a.Raw) != 0 {
			t.Errorf("HEAD %s: %d, Allow %q, body %q", path, a.Status, a.Header.Get("Allow"), a.Raw)
		}
	}
	// Other routes keep the JSON:API answer.
	res := e.Do(apitest.Request{Method: http.MethodPut, Path: "/v2/tenants", Auth: &e.Super, NoCheck: true})
	if res.Status != http.StatusMethodNotAllowed || res.Header.Get("Content-Type") != "application/vnd.api+json" {
		t.Errorf("PUT /v2/tenants: %d %q", res.Status, res.Header.Get("Content-Type"))
	}
	// POST still reaches the endpoint.
	apitest.PostOAuth(t, e, "/oauth/token", apitest.FormType, strings.NewReader(""), nil).ExpectError(t, http.StatusBadRequest, "invalid_request")
}

// TestTokenResponseNegotiation: the token endpoint answers form-encoded
// (Cloud 66's authentication docs) exactly when Accept prefers it to JSON, errors included.
func TestTokenResponseNegotiation(t *testing.T) {
	e := apitest.New(t)
	tid := e.Post("/v2/tenants", &e.Super, doc("tenant", map[string]any{"name": "acme"})).ExpectStatus(t, http.StatusCreated).ID(t)
	m := apitest.MachineClient(t, e, tid, "viewer")
	const form = "application/x-www-form-urlencoded"
	for accept, wantForm := range map[string]bool{
		"":                                  false,
		"application/json":                  false,
		"*/*":                               false,
		"application/*":                     false,
		form:                                true,
		"Application/X-WWW-Form-Urlencoded": true,
		"application/json;q=0.1, application/x-www-form-urlencoded":       true,
		"application/json, application/x-www-form-urlencoded":             false,
		"application/x-www-form-urlencoded;q=0, application/json":         false,
		"application/x-www-form-urlencoded;q=0":                           false,
		"application/x-www-form-urlencoded;q=0.5, application/json;q=0.4": true,
		"*/*;q=0.1, application/x-www-form-urlencoded;q=0.2":              true,
	} {
		header := map[string]string{"Authorization": apitest.BasicOf(m.Client.ClientID, m.Secret)}
		if accept != "" {
			header["Accept"] = accept
		}
		for _, body := range []string{"grant_type=client_credentials", "grant_type=password"} {
			a := apitest.PostOAuth(t, e, "/oauth/token", apitest.FormType, strings.NewReader(body), header)
			ct := a.Header.Get("Content-Type")
			if got := strings.HasPrefix(ct, form); got != wantForm {
				t.Errorf("Accept %q, %s: %d Content-Type %q, want form: %v", accept, body, a.Status, ct, wantForm)
				continue
			}
			if !wantForm {
				continue
			}
			v, err := url.ParseQuery(string(a.Raw))
			if err != nil {
				t.Fatalf("form body %q: %v", a.Raw, err)
			}
			if a.Status == http.StatusOK && (v.Get("access_token") == "" || v.Get("actor") != m.Client.ClientID) {
				t.Errorf("Accept %q: form token %q", accept, a.Raw)
			}
			if a.Status != http.StatusOK && v.Get("error") != "unsupported_grant_type" {
				t.Errorf("Accept %q: form error %q", accept, a.Raw)
			}
		}
	}
}
