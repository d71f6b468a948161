package oauth2

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// readForm reads an RFC 6749 request body: application/x-www-form-urlencoded,
// every parameter at most once (§3.2), valid UTF-8 without control characters.
func readForm(r *http.Request) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errInvalidRequest("the request body must be application/x-www-form-urlencoded")
	}
	if err := r.ParseForm(); err != nil {
		// The server's body limit: net/http's, or Echo's (an HTTPError
		// 413 from its limited reader when the body has no length).
		var maxErr *http.MaxBytesError
		var he *echo.HTTPError
		if errors.As(err, &maxErr) || (errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge) {
			return nil, errBodyTooLarge()
		}
		return nil, errInvalidRequest("the request body is not a valid form")
	}
	if problem := paramProblem(r.PostForm); problem != "" {
		return nil, errInvalidRequest(problem)
	}
	return r.PostForm, nil
}

// paramProblem says what is wrong with a protocol request's parameters,
// or "": each may be given once, and names and values are plain text (no
// control characters, valid UTF-8, so nothing Postgres refuses in text).
func paramProblem(p url.Values) string {
	for k, vs := range p {
		if len(vs) > 1 {
			return "parameter " + printable(k) + " is given more than once"
		}
		if !plainText(k) || !plainText(vs[0]) {
			return "parameter " + printable(k) + " holds characters that are not allowed"
		}
	}
	return ""
}

func plainText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func printable(s string) string {
	if plainText(s) && len(s) <= 64 {
		return s
	}
	return "(unprintable)"
}

// splitScope accepts the standard space-separated list and Cloud 66's
// comma-separated one.
func splitScope(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
}

// truncate is s cut to at most n bytes (for map keys, not for display).
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
