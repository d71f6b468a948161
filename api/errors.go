package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/api/console"
	"github.com/oauthd/oauthd/api/oauth2"
	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/fault"
	"github.com/oauthd/oauthd/internal/listing"
)

// errorObject is a JSON:API error object. google/jsonapi's ErrorObject has
// no source member, so the project keeps its own.
type errorObject struct {
	Status string         `json:"status"`
	Code   string         `json:"code"`
	Title  string         `json:"title"`
	Detail string         `json:"detail"`
	Source *errorSource   `json:"source,omitempty"`
	Meta   map[string]any `json:"meta,omitempty"`
	Links  *errorLinks    `json:"links,omitempty"`
}

// errorLinks are an error object's links: type names the error's
// definition (JSON:API 1.1).
type errorLinks struct {
	Type string `json:"type,omitempty"`
}

type errorSource struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
	Header    string `json:"header,omitempty"`
}

type errorDocument struct {
	Errors []errorObject `json:"errors"`
}

// apiError is an error that already knows its status and objects.
type apiError struct {
	status  int
	objects []errorObject
	headers map[string]string
}

func (e *apiError) Error() string {
	parts := make([]string, len(e.objects))
	for i, o := range e.objects {
		parts[i] = o.Code + ": " + o.Detail
	}
	return fmt.Sprintf("%d %s", e.status, strings.Join(parts, "; "))
}

// add appends one error object (the answer is capped when written).
func (e *apiError) add(o errorObject) { e.objects = append(e.objects, o) }

// maxErrorObjects is how many error objects one answer lists. Past it, one
// last object (code more_errors, meta.more) counts the problems left out,
// so an answer stays small however many problems a request holds.
const maxErrorObjects = 20

// capObjects cuts objects to maxErrorObjects and the summary.
func capObjects(objects []errorObject, status int) []errorObject {
	if len(objects) <= maxErrorObjects+1 {
		return objects
	}
	more := 0
	for _, o := range objects[maxErrorObjects:] {
		if n, ok := o.Meta["more"].(int); ok && o.Code == "more_errors" {
			more += n
		} else {
			more++
		}
	}
	out := append([]errorObject(nil), objects[:maxErrorObjects]...)
	return append(out, errorObject{Status: strconv.Itoa(status), Code: "more_errors", Title: http.StatusText(status),
		Detail: fmt.Sprintf("%d more problems in this request are not listed; fix those above and send it again to see the rest", more),
		Meta:   map[string]any{"more": more}})
}

// newError is one error object. A source that names nothing (the problem is
// the whole document or request) is left out, as JSON:API asks.
func newError(status int, code, detail string, src *errorSource) *apiError {
	if src != nil && *src == (errorSource{}) {
		src = nil
	}
	return &apiError{status: status, objects: []errorObject{{
		Status: strconv.Itoa(status), Code: code, Title: http.StatusText(status), Detail: detail, Source: src,
	}}}
}

// paramError is a 400 naming a query parameter (cut to 64 bytes: the name
// comes from the request).
func paramError(param, code, detail string) *apiError {
	return newError(http.StatusBadRequest, code, detail, &errorSource{Parameter: fault.Short(param)})
}

func pointerError(status int, pointer, code, detail string) *apiError {
	return newError(status, code, detail, &errorSource{Pointer: pointer})
}

var statusOfKind = map[fault.Kind]int{
	fault.Invalid:   http.StatusUnprocessableEntity,
	fault.NotFound:  http.StatusNotFound,
	fault.Conflict:  http.StatusConflict,
	fault.Forbidden: http.StatusForbidden,
	fault.Malformed: http.StatusBadRequest,
	// The domain can say "not now": 503 with Retry-After.
	fault.Unavailable: http.StatusServiceUnavailable,
}

// pointerOf places a problem in the request document.
func pointerOf(p *fault.Problem) *errorSource {
	switch {
	case p.Parameter != "":
		return &errorSource{Parameter: p.Parameter}
	case p.Attribute != "":
		return &errorSource{Pointer: "/data/attributes/" + p.Attribute}
	case p.Relationship != "":
		name, index, many := strings.Cut(p.Relationship, "/")
		switch {
		case !many:
			return &errorSource{Pointer: "/data/relationships/" + name + "/data/id"}
		case index == "":
			return &errorSource{Pointer: "/data/relationships/" + name + "/data"}
		default:
			return &errorSource{Pointer: "/data/relationships/" + name + "/data/" + index + "/id"}
		}
	}
	return nil
}

// fromProblems turns domain problems into one response. A problem that sits
// on a relationship and says "not found" is a 422 (the request names
// something that is not there), not a 404 of the URL.
func fromProblems(ps fault.Problems) *apiError {
	e := &apiError{}
	for _, p := range ps {
		status := statusOfKind[p.Kind]
		if p.Kind == fault.NotFound && (p.Relationship != "" || p.Attribute != "") {
			status = http.StatusUnprocessableEntity
		}
		if status == 0 {
			status = http.StatusUnprocessableEntity
		}
		// The response status is the most general of its errors: 400 before
		// 409 before 422, and so on by the order of severity below.
		if e.status == 0 || severity(status) > severity(e.status) {
			e.status = status
		}
		e.objects = append(e.objects, errorObject{
			Status: strconv.Itoa(status), Code: p.Code, Title: http.StatusText(status),
			Detail: p.Detail, Source: pointerOf(p), Meta: p.Meta,
		})
		if p.Kind == fault.Unavailable {
			e.headers = map[string]string{"Retry-After": strconv.Itoa(max(p.RetryAfter, 1))}
		}
	}
	return e
}

func severity(status int) int {
	switch status {
	case http.StatusBadRequest:
		return 5
	case http.StatusNotFound:
		return 4
	case http.StatusForbidden:
		return 3
	case http.StatusConflict:
		return 2
	}
	return 1
}

// statusClientClosedRequest is nginx's status for a request whose client
// disconnected; it only ever reaches logs and metrics.
const statusClientClosedRequest = 499

// toAPIError maps any error a handler returns to a response. Internal
// errors are logged with the request id and answered with a generic 500.
func toAPIError(err error, c echo.Context, log *slog.Logger) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	if ps, ok := fault.List(err); ok {
		return fromProblems(ps)
	}
	var ce *listing.CursorError
	if errors.As(err, &ce) {
		if ce.Before {
			return invalidCursor(pageBefore)
		}
		return invalidCursor(pageAfter)
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return fromEchoError(he, c)
	}
	if database.IsCanceled(err) && c.Request().Context().Err() != nil {
		// The client went away mid-request: nobody reads this answer, and
		// it is neither our fault nor an outage. 499 as nginx logs it.
		log.Info("request canceled by the client", "request_id", requestID(c), "err", err)
		e := newError(statusClientClosedRequest, "client_closed_request", "the client closed the request before it completed", nil)
		e.objects[0].Title = "Client Closed Request"
		return e
	}
	// An outage, or a transaction still deadlocked after InTx's retries:
	// busy or away, not broken; the client should come back shortly.
	retryLater := func(code, detail string) *apiError {
		e := newError(http.StatusServiceUnavailable, code, detail, nil)
		e.headers = map[string]string{"Retry-After": "1"}
		log.Warn(code, "request_id", requestID(c), "err", err)
		return e
	}
	if database.IsUnavailable(err) {
		return retryLater("database_unavailable", "the database is unreachable; retry shortly")
	}
	if database.IsContention(err) {
		return retryLater("database_busy", "concurrent changes to the same data kept colliding; retry shortly")
	}
	rid := requestID(c)
	log.Error("internal error", "request_id", rid, "method", c.Request().Method, "route", c.Path(), "err", err)
	return newError(http.StatusInternalServerError, "internal_error",
		"something went wrong on our side; quote request id "+rid+" when reporting it", nil)
}

func fromEchoError(he *echo.HTTPError, c echo.Context) *apiError {
	switch he.Code {
	case http.StatusNotFound:
		return newError(http.StatusNotFound, "route_not_found", "no resource lives at "+c.Request().URL.Path, nil)
	case http.StatusMethodNotAllowed:
		return newError(http.StatusMethodNotAllowed, "method_not_allowed",
			c.Request().Method+" is not allowed on "+c.Request().URL.Path, nil)
	case http.StatusRequestEntityTooLarge:
		return newError(http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("the request body must be at most %d bytes", maxBodyBytes), nil)
	}
	return newError(he.Code, "http_error", fmt.Sprint(he.Message), nil)
}

// errorHandler is Echo's HTTPErrorHandler: every error leaves as JSON:API.
func errorHandler(log *slog.Logger, con *console.Handler) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		// An unknown path or method under /console is a page of the
		// console, not a JSON:API error.
		var routeErr *echo.HTTPError
		if errors.As(err, &routeErr) && (routeErr.Code == http.StatusNotFound || routeErr.Code == http.StatusMethodNotAllowed) &&
			console.IsConsolePath(c.Request().URL.Path) {
			if err := con.Unrouted(c, routeErr.Code); err != nil {
				log.Error("console error page", "request_id", requestID(c), "err", err)
			}
			return
		}
		// The body limit answers before the RFC endpoints run; they speak
		// RFC 6749, not JSON:API.
		var he *echo.HTTPError
		if errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge && c.Request().Method == http.MethodPost &&
			oauth2.ProtocolEndpoint(c.Request().URL.Path) {
			_ = oauth2.WriteTooLarge(c)
			return
		}
		ae := toAPIError(err, c, log)
		for k, v := range ae.headers {
			c.Response().Header().Set(k, v)
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(ae.status)
			return
		}
		_ = writeJSON(c, ae.status, errorDocument{Errors: capObjects(ae.objects, ae.status)})
	}
}
