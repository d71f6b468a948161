package api

import (
	"context"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/connections"
)

// DefaultDBTimeout is how long one request's database work may take
// (OAUTHD_DB_TIMEOUT): past it the request ends in 503
// database_unavailable, so a frozen or unreachable Postgres never holds a
// caller (or a connection of the pool) for long.
const DefaultDBTimeout = 5 * time.Second

// outwardTimeout is what the routes that call a provider (refreshing a
// connection's token, the connection dance) get on top: the provider's
// own time limit.
const outwardTimeout = 15 * time.Second

// callsOutward reports whether route (Echo's pattern) may call a provider
// while it runs.
func callsOutward(route string) bool {
	return route == connections.CallbackPath || strings.HasPrefix(route, connections.LinkPathPrefix) ||
		strings.HasSuffix(route, "/connections/:id/access-token") || strings.HasSuffix(route, "/connections/:id/refresh")
}

// deadline bounds every request's work, and so its database work, by the
// database timeout (plus the provider's limit on the routes that call
// one). A database call cut short fails like an unreachable database:
// 503 database_unavailable with Retry-After (RFC endpoints:
// temporarily_unavailable; pages: the unavailable page). Zero sets no
// deadline (an embedding such as a test harness under -race, where bcrypt
// alone can take seconds); oauthd serve always sets one.
func deadline(dbTimeout time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if dbTimeout <= 0 {
			return next
		}
		return func(c echo.Context) error {
			limit := dbTimeout
			if callsOutward(c.Path()) {
				limit += outwardTimeout
			}
			ctx, cancel := context.WithTimeout(c.Request().Context(), limit)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}
