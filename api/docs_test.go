package api_test

import (
	"bytes"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
)

// TestServedDocs: the API describes itself. /openapi.yaml is the file of
// the repository; /docs renders it with the vendored viewer, whose every
// script and style sheet comes from this server (as the page's
// Content-Security-Policy insists); RFC 8414's service_documentation
// points at the page.
func TestServedDocs(t *testing.T) {
	e := apitest.New(t)
	spec := e.Get("/openapi.yaml", nil).ExpectStatus(t, http.StatusOK)
	onDisk, err := os.ReadFile(apitest.SpecPath())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(spec.Body, onDisk) || !strings.HasPrefix(spec.Header.Get("Content-Type"), "application/yaml") {
		t.Errorf("/openapi.yaml: %q, %d bytes; want openapi.yaml's %d", spec.Header.Get("Content-Type"), len(spec.Body), len(onDisk))
	}

	page := e.Get("/docs", nil).ExpectStatus(t, http.StatusOK)
	csp := page.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %s", csp, want)
		}
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(string(page.Body), -1)
	if len(refs) < 3 {
		t.Fatalf("the page links %d files:\n%s", len(refs), page.Body)
	}
	types := map[string]string{".js": "text/javascript", ".css": "text/css", ".yaml": "application/yaml"}
	for _, r := range refs {
		ref := r[1]
		if !strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "//") {
			t.Errorf("the page loads %s from elsewhere", ref)
			continue
		}
		res := e.Get(ref, nil).ExpectStatus(t, http.StatusOK)
		ext := ref[strings.LastIndex(ref, "."):]
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, types[ext]) || len(res.Body) == 0 {
			t.Errorf("%s: %q, %d bytes", ref, ct, len(res.Body))
		}
	}
	// The page's own script points the viewer at this server's spec and
	// turns off the viewer's outside validator.
	init := string(e.Get("/docs/assets/init.js", nil).Body)
	if !strings.Contains(init, `url: "/openapi.yaml"`) || !strings.Contains(init, "validatorUrl: null") {
		t.Errorf("init.js: %s", init)
	}
	e.Get("/docs/assets/secrets.txt", nil).ExpectStatus(t, http.StatusNotFound)
	e.Get("/docs/assets/..%2f..%2fgo.mod", nil).ExpectStatus(t, http.StatusNotFound)

	meta := e.Get("/.well-known/oauth-authorization-server", nil).ExpectStatus(t, http.StatusOK).Doc(t)
	if meta["service_documentation"] != e.App.Issuer+"/docs" {
		t.Errorf("service_documentation %v, want %s/docs", meta["service_documentation"], e.App.Issuer)
	}
}
