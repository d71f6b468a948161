package console

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/fault"
)

// fieldErrors are the domain's problems with a form, by form field, so
// each is shown next to its field; General holds those of no field.
type fieldErrors struct {
	Fields  map[string][]string
	General []string
}

// For is the problems of one field.
func (e fieldErrors) For(field string) []string { return e.Fields[field] }

// Any reports whether there is any problem.
func (e fieldErrors) Any() bool { return len(e.Fields) > 0 || len(e.General) > 0 }

// fieldOf names the form field of a problem: its attribute or
// relationship ("components/2" is the components field); a descriptor's
// inner pointer ("descriptor/oauth2/token_uri") is the descriptor field.
func fieldOf(p *fault.Problem) string {
	f := p.Attribute
	if f == "" {
		f = p.Relationship
	}
	f, _, _ = strings.Cut(f, "/")
	return f
}

// formProblems splits err into field errors; ok is false when err is not
// made of problems (an internal error, for fail).
func formProblems(err error, fields ...string) (fieldErrors, bool) {
	ps, ok := fault.List(err)
	if !ok {
		return fieldErrors{}, false
	}
	out := fieldErrors{Fields: map[string][]string{}}
	for _, p := range ps {
		f := fieldOf(p)
		if f != "" && slices.Contains(fields, f) {
			out.Fields[f] = append(out.Fields[f], p.Detail)
		} else {
			out.General = append(out.General, p.Detail)
		}
	}
	return out, true
}

// statusOf is the HTTP status of a form's problems: the API's statuses
// (a rule broken 422, a conflict 409, a right lacking 403).
func statusOf(err error) int {
	ps, _ := fault.List(err)
	status := http.StatusUnprocessableEntity
	for _, p := range ps {
		switch p.Kind {
		case fault.Forbidden:
			return http.StatusForbidden
		case fault.Conflict:
			status = http.StatusConflict
		case fault.Malformed:
			return http.StatusBadRequest
		}
	}
	return status
}

// errorData is the error page.
type errorData struct {
	page
	Message string
	Details []string
}

// errorPage renders an error page. It needs no signed-in visit.
func (h *Handler) errorPage(c echo.Context, status int, title, message string, details ...string) error {
	p := page{Title: title}
	if v := visitOf(c); v != nil {
		p = h.base(c, title, "")
	}
	return h.render(c, status, "error.html", errorData{page: p, Message: message, Details: details})
}

func (h *Handler) notFound(c echo.Context) error {
	return h.errorPage(c, http.StatusNotFound, "Not found", "There is nothing here, or you may not see it.")
}

func (h *Handler) forbidden(c echo.Context, perm string) error {
	return h.errorPage(c, http.StatusForbidden, "Not allowed",
		"This needs the "+perm+" permission in this tenant. Ask a tenant owner to grant it.")
}

// fail answers an error no form shows: a problem by its kind (404, 403,
// 409, 422), an unreachable database 503, anything else a logged 500.
func (h *Handler) fail(c echo.Context, err error) error {
	if ps, ok := fault.List(err); ok {
		details := make([]string, len(ps))
		for i, p := range ps {
			details[i] = p.Detail
		}
		switch ps[0].Kind {
		case fault.NotFound:
			return h.notFound(c)
		case fault.Forbidden:
			return h.errorPage(c, http.StatusForbidden, "Not allowed", "You may not do this.", details...)
		case fault.Conflict:
			return h.errorPage(c, http.StatusConflict, "Not possible now", "This cannot be done in the current state.", details...)
		case fault.Unavailable:
			c.Response().Header().Set("Retry-After", "30")
			return h.errorPage(c, http.StatusServiceUnavailable, "Not possible yet", "Try again in a little while.", details...)
		default:
			return h.errorPage(c, statusOf(err), "Not possible", "The request breaks a rule.", details...)
		}
	}
	rid := c.Response().Header().Get(echo.HeaderXRequestID)
	if database.IsUnavailable(err) || database.IsContention(err) {
		c.Response().Header().Set("Retry-After", "1")
		h.d.Log.Warn("console: database unavailable", "request_id", rid, "err", err)
		return h.errorPage(c, http.StatusServiceUnavailable, "Temporarily unavailable",
			"The service cannot reach its database right now. Try again in a moment.")
	}
	h.d.Log.Error("console error", "request_id", rid, "path", c.Path(), "err", err)
	return h.errorPage(c, http.StatusInternalServerError, "Something went wrong",
		"Something went wrong on our side. Try again; if it keeps happening, contact support with request id "+rid+".")
}

// Unrouted answers a request under /console that no page serves: an HTML
// page in the console's layout (never the API's JSON:API error), 404 for
// an unknown path and 405 for a method the path does not take. The
// visitor, when signed in, sees their usual header.
func (h *Handler) Unrouted(c echo.Context, status int) error {
	if vis, err := h.d.Sessions.Visitor(c); err == nil && vis != nil {
		c.Set(ctxVisit, &visit{visitor: vis, allowed: map[string]bool{}})
	}
	if status == http.StatusMethodNotAllowed {
		return h.errorPage(c, status, "Not possible here", "This page does not take a "+c.Request().Method+" request.")
	}
	return h.notFound(c)
}

// IsConsolePath reports whether path is the console's (Unrouted answers
// for it).
func IsConsolePath(path string) bool {
	return path == PathRoot || strings.HasPrefix(path, PathRoot+"/")
}
