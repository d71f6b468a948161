package oauth2

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// FuzzTokenRequest feeds arbitrary bodies, content types and Accept
// headers through what the token endpoint does before it needs the
// database: readForm, the grant_type check, splitScope, printable, and the
// RFC 6749 error writer. None may panic; what readForm accepts must hold
// its promises (one value per parameter, printable UTF-8), and every error
// must be a well-formed RFC 6749 answer.
func FuzzTokenRequest(f *testing.F) {
	for _, s := range [][3]string{
		{"grant_type=client_credentials&client_id=o2c_x&client_secret=o2s_y", "application/x-www-form-urlencoded", ""},
		{"grant_type=authorization_code&code=oac_x&redirect_url=https%3A%2F%2Fa&code_verifier=v", "application/x-www-form-urlencoded; charset=utf-8", "application/x-www-form-urlencoded"},
		{"grant_type=refresh_token&scope=a,b%20c,,", "application/x-www-form-urlencoded", "application/json"},
		{"grant_type=a&grant_type=b", "application/x-www-form-urlencoded", ""},
		{"grant_type=%00", "application/x-www-form-urlencoded", ""},
		{"%zz=1", "application/x-www-form-urlencoded", ""},
		{`{"grant_type":"client_credentials"}`, "application/json", ""},
		{"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=odc_", "application/x-www-form-urlencoded", ""},
		{"scope=\xff\xfe", "application/x-www-form-urlencoded", ""},
		{"", "", ""},
		{"a=b", "multipart/form-data; boundary=x", ""},
		{"a=b", "application/x-www-form-urlencoded; =", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	h := &Handler{d: Deps{Issuer: "https://issuer.test", Log: slog.New(slog.DiscardHandler)}}
	e := echo.New()
	f.Fuzz(func(t *testing.T, body, contentType, accept string) {
		req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Accept", accept)
		rec := httptest.NewRecorder()
		c := e.NewContext(req, rec)

		form, err := readForm(req)
		if err == nil {
			for k, vs := range form {
				if len(vs) != 1 {
					t.Fatalf("parameter %q has %d values", k, len(vs))
				}
				if !plainText(k) || !plainText(vs[0]) {
					t.Fatalf("parameter %q=%q is not plain text", k, vs[0])
				}
			}
			for _, s := range splitScope(form.Get("scope")) {
				if s == "" || strings.ContainsAny(s, " ,") {
					t.Fatalf("splitScope gave %q", s)
				}
			}
			gt := form.Get("grant_type")
			if p := printable(gt); len(p) > 64 || !plainText(p) {
				t.Fatalf("printable(%q) = %q", gt, p)
			}
			err = errUnsupportedGrantType("grant_type " + printable(gt) + " is not supported")
		}
		if werr := h.writeOAuthError(c, err); werr != nil {
			t.Fatalf("writeOAuthError: %v", werr)
		}
		if rec.Code < 400 || rec.Code >= 500 {
			t.Fatalf("status %d for a client error", rec.Code)
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatal("error without Cache-Control: no-store")
		}
		var code string
		if wantsForm(req) {
			v, perr := url.ParseQuery(rec.Body.String())
			if perr != nil {
				t.Fatalf("form error body %q: %v", rec.Body.String(), perr)
			}
			code = v.Get("error")
		} else {
			var m map[string]string
			if jerr := json.Unmarshal(rec.Body.Bytes(), &m); jerr != nil {
				t.Fatalf("JSON error body %q: %v", rec.Body.String(), jerr)
			}
			code = m["error"]
		}
		if code != "invalid_request" && code != "unsupported_grant_type" {
			t.Fatalf("error code %q", code)
		}
	})
}

// TestSplitScope pins the two accepted separators (RFC 6749 spaces, seed
// 003's commas).
func TestSplitScopeSeparators(t *testing.T) {
	got := splitScope(" role:viewer,tenants.flows.get  tenants.flows.edit,,")
	want := []string{"role:viewer", "tenants.flows.get", "tenants.flows.edit"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("splitScope = %q", got)
	}
	if len(splitScope("")) != 0 || len(splitScope(" , ")) != 0 {
		t.Fatal("empty scopes produce entries")
	}
}
