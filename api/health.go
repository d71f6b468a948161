package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/internal/database"
)

type healthDoc struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

// healthz says the process is alive; it touches nothing else.
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, healthDoc{Status: "ok"})
}

// readyz says whether this instance can serve: the database answers and
// has every migration this binary carries.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "migrations": "ok"}
	status := http.StatusOK
	if err := s.deps.DB.Ping(ctx); err != nil {
		checks["database"], checks["migrations"] = "unreachable", "unknown"
		status = http.StatusServiceUnavailable
	} else if current, err := database.MigrationsCurrent(ctx, s.deps.DB); err != nil || !current {
		checks["migrations"] = "pending"
		status = http.StatusServiceUnavailable
	}
	doc := healthDoc{Status: "ok", Checks: checks}
	if status != http.StatusOK {
		doc.Status = "unavailable"
	}
	return c.JSON(status, doc)
}

// docsAsset serves the API page's script and style sheet; another name is
// the usual 404.
func (s *Server) docsAsset(c echo.Context) error {
	if !s.docs.Asset(c.Response(), c.Request(), c.Param("name")) {
		return echo.ErrNotFound
	}
	return nil
}
