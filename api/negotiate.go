package api

import (
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// negotiate enforces JSON:API content negotiation. Request bodies may be
// application/vnd.api+json (without parameters) or application/json (elastic.io's
// curl examples send it); an Accept header must allow one of them.
func negotiate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if hasBody(r) {
			if err := checkContentType(r.Header.Get(echo.HeaderContentType)); err != nil {
				return err
			}
		}
		if accept := r.Header.Values(echo.HeaderAccept); len(accept) > 0 && !acceptable(strings.Join(accept, ",")) {
			return newError(http.StatusNotAcceptable, "not_acceptable",
				"the Accept header must allow application/vnd.api+json (without parameters) or application/json",
				&errorSource{Header: "Accept"})
		}
		return next(c)
	}
}

func hasBody(r *http.Request) bool {
	return r.ContentLength > 0 || (r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody)
}

func checkContentType(ct string) error {
	src := &errorSource{Header: "Content-Type"}
	if ct == "" {
		return newError(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"a request body needs Content-Type application/vnd.api+json or application/json", src)
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return newError(http.StatusUnsupportedMediaType, "unsupported_media_type", "the Content-Type header is malformed", src)
	}
	switch mt {
	case mediaType:
		if len(params) > 0 {
			return newError(http.StatusUnsupportedMediaType, "media_type_parameters",
				"application/vnd.api+json must be sent without media type parameters (no extensions are supported)", src)
		}
		return nil
	case "application/json":
		return nil
	}
	return newError(http.StatusUnsupportedMediaType, "unsupported_media_type",
		"Content-Type "+mt+" is not accepted; send application/vnd.api+json or application/json", src)
}

// acceptable reports whether an Accept header lets us answer with JSON:API.
// Per JSON:API 1.1 an instance of our media type with parameters does not
// count; any other instance of it, application/json or a wildcard does.
func acceptable(header string) bool {
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		mt, params, err := mime.ParseMediaType(part)
		if err != nil {
			continue
		}
		if q, ok := params["q"]; ok {
			if w, err := strconv.ParseFloat(q, 64); err == nil && w <= 0 {
				continue // q=0 means "not this one" (RFC 9110 §12.4.2)
			}
			delete(params, "q")
		}
		switch mt {
		case mediaType:
			if len(params) == 0 {
				return true
			}
		case "application/json", "*/*", "application/*":
			return true
		}
	}
	return false
}
