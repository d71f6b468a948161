// Package docs serves the API's own description: openapi.yaml as written,
// and a page that renders it with Swagger UI (swagger-ui-dist from npm,
// vendored under swagger-ui/ with its licence; see swagger-ui/VERSION).
// Nothing is loaded from elsewhere, and the page's Content-Security-Policy
// says so to the browser.
package docs

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed index.html init.js swagger-ui
var files embed.FS

// ContentSecurityPolicy lets the page run the vendored viewer from this
// server and nothing else. Swagger UI sets style attributes, hence
// 'unsafe-inline' for styles only; its icons are data: URIs.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handlers serve the spec, the page and the page's assets.
type Handlers struct {
	spec   []byte
	assets http.Handler
}

// New serves spec (the bytes of openapi.yaml).
func New(spec []byte) *Handlers {
	sub, _ := fs.Sub(files, ".") // the embedded tree itself; cannot fail
	return &Handlers{spec: spec, assets: http.FileServerFS(sub)}
}

// Spec is GET /openapi.yaml.
func (h *Handlers) Spec(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(h.spec)
}

// Page is GET /docs.
func (h *Handlers) Page(w http.ResponseWriter, r *http.Request) {
	page, _ := files.ReadFile("index.html") // embedded; cannot fail
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", ContentSecurityPolicy)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(page)
}

// Asset is GET /docs/assets/{name}: the viewer's script and style sheet
// and the page's init.js. It reports false, writing nothing, for any other
// name, so the caller answers its own 404.
func (h *Handlers) Asset(w http.ResponseWriter, r *http.Request, name string) bool {
	path := map[string]string{
		"swagger-ui-bundle.js": "swagger-ui/swagger-ui-bundle.js",
		"swagger-ui.css":       "swagger-ui/swagger-ui.css",
		"init.js":              "init.js",
	}[name]
	if path == "" {
		return false
	}
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + path
	h.assets.ServeHTTP(w, r2)
	return true
}
