package console

import (
	"embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

//go:embed static/console.css static/console.js
var staticFS embed.FS

var staticTypes = map[string]string{
	"console.css": "text/css; charset=utf-8",
	"console.js":  "text/javascript; charset=utf-8",
}

// Static serves the console's stylesheet and script (vendored in the
// binary: nothing is loaded from elsewhere).
func (h *Handler) Static(c echo.Context) error {
	name := c.Param("name")
	typ, ok := staticTypes[name]
	if !ok {
		return echo.ErrNotFound
	}
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil {
		return err
	}
	hd := c.Response().Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "public, max-age=3600")
	return c.Blob(http.StatusOK, typ, b)
}
