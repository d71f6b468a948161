package oauth2

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestWantsForm pins when the token endpoint answers form-encoded (Cloud
// 66's authentication docs): only when Accept prefers application/x-www-form-urlencoded to
// application/json, read as RFC 9110 §12.5.1 reads it.
func TestWantsForm(t *testing.T) {
	cases := []struct {
		accept []string // one header line per element
		form   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"application/x-www-form-urlencoded"}, true},
		{[]string{"Application/X-WWW-Form-URLEncoded"}, true},
		{[]string{"APPLICATION/X-WWW-FORM-URLENCODED; Q=1"}, true},
		{[]string{"application/x-www-form-urlencoded;charset=utf-8"}, true},
		{[]string{"application/json;q=0.1, application/x-www-form-urlencoded"}, true},
		{[]string{"application/json;q=0.1", "application/x-www-form-urlencoded"}, true}, // two header lines
		{[]string{"application/x-www-form-urlencoded;q=0.5, application/json"}, false},
		{[]string{"application/json, application/x-www-form-urlencoded"}, false}, // equal q: order
		{[]string{"application/x-www-form-urlencoded, application/json"}, true},  // equal q: order
		{[]string{"application/x-www-form-urlencoded;q=0"}, false},               // q=0 is "not acceptable"
		{[]string{"application/x-www-form-urlencoded;q=0.000, application/json;q=0"}, false},
		{[]string{"application/x-www-form-urlencoded;q=0.001"}, true},
		{[]string{"*/*"}, false},
		{[]string{"application/*"}, false},
		{[]string{"*/*;q=0.8, application/x-www-form-urlencoded"}, true},
		{[]string{"*/*, application/x-www-form-urlencoded"}, true}, // named beats a wildcard at equal q
		{[]string{"application/x-www-form-urlencoded, */*"}, true},
		{[]string{"application/x-www-form-urlencoded;q=0.9, */*"}, false},
		{[]string{"application/json;q=0, application/x-www-form-urlencoded;q=0.2"}, true},
		{[]string{"text/html, application/xhtml+xml"}, false},
		{[]string{"application/x-www-form-urlencoded-but-not"}, false},
		{[]string{"xapplication/x-www-form-urlencoded"}, false},
		{[]string{"application/x-www-form-urlencoded;q=2"}, false},   // not a qvalue: ignored
		{[]string{"application/x-www-form-urlencoded;q=abc"}, false}, // not a qvalue: ignored
		{[]string{"application/x-www-form-urlencoded;q=NaN"}, false},
		{[]string{"*/x-www-form-urlencoded"}, false}, // not a media range
		{[]string{",,;, application/x-www-form-urlencoded ;q=0.7 , application/json;q=0.3"}, true},
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodPost, "/oauth/token", nil)
		for _, a := range c.accept {
			r.Header.Add("Accept", a)
		}
		if got := wantsForm(r); got != c.form {
			t.Errorf("Accept %q: wantsForm = %v, want %v", c.accept, got, c.form)
		}
	}
}

// TestAccepts pins the JWKS's choice of media type: only a range naming
// the type itself with a non-zero quality.
func TestAccepts(t *testing.T) {
	for accept, want := range map[string]bool{
		"application/jwk-set+json":                   true,
		"Application/JWK-Set+JSON; q=0.5":            true,
		"application/jwk-set+json;q=0":               false,
		"application/jwk-set+json;q=0, */*":          false,
		"*/*":                                        false,
		"application/*":                              false,
		"application/json, application/jwk-set+json": true,
		"": false,
	} {
		if got := accepts(parseAccept([]string{accept}), "application/jwk-set+json"); got != want {
			t.Errorf("Accept %q: accepts = %v, want %v", accept, got, want)
		}
	}
}

// TestSplitScopeSeparators pins the two accepted separators (RFC 6749
// spaces, Cloud 66's commas).
func TestSplitScopeSeparators(t *testing.T) {
	got := splitScope(" role:viewer,tenants.flows.get  tenants.flows.edit,,")
	want := []string{"role:viewer", "tenants.flows.get", "tenants.flows.edit"}
	if len(got) != len(want) {
		t.Fatalf("splitScope = %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("splitScope = %q", got)
		}
	}
	if len(splitScope("")) != 0 || len(splitScope(" , ")) != 0 {
		t.Fatal("empty scopes produce entries")
	}
}
