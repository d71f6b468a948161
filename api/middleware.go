package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/internal/metrics"
)

// maxBodyBytes is the request body limit (413 above it).
const maxBodyBytes = 1 << 20

func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}

// observe logs one line per request and records its metrics. It never logs
// headers or bodies, so credentials and secrets stay out of the logs. The
// successful requests of the token endpoint and introspection are counted
// into one line a second instead (see summarizedRoutes); their failures
// keep a line each.
func observe(log *slog.Logger, m *metrics.Metrics) echo.MiddlewareFunc {
	sums := newSummaries(log)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err) // writes the response so the status below is final
			}
			elapsed := time.Since(start)
			status := c.Response().Status
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			method := c.Request().Method
			m.Request(method, route, status, elapsed)
			ctx := c.Request().Context()
			if sums.take(ctx, log, method, route, status, elapsed, c.Response().Size) {
				return nil
			}
			level := slog.LevelInfo
			if status >= http.StatusInternalServerError {
				level = slog.LevelError
			}
			if !log.Enabled(ctx, level) {
				return nil
			}
			// Typed attributes (LogAttrs) spare slog boxing and converting
			// each value on every request.
			path := c.Request().URL.Path
			if strings.Contains(route, ":capability") {
				path = route // a connection's authorize_url is a secret until spent
			}
			attrs := make([]slog.Attr, 0, 11)
			attrs = append(attrs,
				slog.String("request_id", requestID(c)), slog.String("method", method),
				slog.String("path", path), slog.String("route", route), slog.Int("status", status),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
				slog.Int64("bytes_out", c.Response().Size), slog.String("remote_ip", c.RealIP()))
			if p := principalOf(c); p != nil {
				// A client-credentials token has no user.
				if p.User != nil {
					attrs = append(attrs, slog.String("user_id", p.User.ID.String()))
				}
				if p.Token != nil {
					attrs = append(attrs, slog.String("client_id", p.Token.Claims.ClientID))
				}
			}
			if tid, ok := c.Get(ctxTenant).(fmt.Stringer); ok {
				attrs = append(attrs, slog.String("tenant_id", tid.String()))
			}
			log.LogAttrs(ctx, level, "request", attrs...)
			return nil
		}
	}
}
