package apitest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

type spec struct {
	router routers.Router
}

var (
	specOnce   sync.Once
	loadedSpec *spec
	specErr    error
)

// SpecPath is the repository's openapi.yaml.
func SpecPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "openapi.yaml")
}

func loadSpec(t testing.TB) *spec {
	t.Helper()
	specOnce.Do(func() {
		openapi3filter.RegisterBodyDecoder("application/vnd.api+json", openapi3filter.JSONBodyDecoder)
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromFile(SpecPath())
		if err != nil {
			specErr = fmt.Errorf("load openapi.yaml: %w", err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			specErr = fmt.Errorf("openapi.yaml is not a valid OpenAPI document: %w", err)
			return
		}
		doc.Servers = nil // match on paths alone, whatever host the test server has
		r, err := legacy.NewRouter(doc)
		if err != nil {
			specErr = err
			return
		}
		loadedSpec = &spec{router: r}
	})
	if specErr != nil {
		t.Fatal(specErr)
	}
	return loadedSpec
}

// check validates one response against the operation the request matches.
// A request no operation matches must have been answered 404 or 405 (an
// unknown route); anything else means openapi.yaml misses an endpoint.
// Under /console those answers are the console's HTML pages (openapi.yaml,
// the console), elsewhere JSON:API error documents.
func (s *spec) check(req *http.Request, res *Response) error {
	console := req.URL.Path == "/console" || strings.HasPrefix(req.URL.Path, "/console/")
	if res.Status == http.StatusMethodNotAllowed {
		if console {
			return checkConsoleUnrouted(res)
		}
		return s.checkMethodNotAllowed(req, res)
	}
	route, params, err := s.findRoute(req)
	if err != nil {
		if res.Status == http.StatusNotFound && console {
			return checkConsoleUnrouted(res)
		}
		if res.Status == http.StatusNotFound {
			return checkErrorDocument(res)
		}
		return fmt.Errorf("no operation in openapi.yaml for %s %s: %w", req.Method, req.URL.Path, err)
	}
	return validate(req, route, params, res)
}

// findRoute finds req's operation. A trailing slash changes nothing
// (openapi.yaml, Conventions): the /v2 paths list their trailing-slash
// aliases, the /oauth ones do not, and a path with one that names no
// operation is looked up without it.
func (s *spec) findRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	route, params, err := s.router.FindRoute(req)
	if err == nil || !strings.HasSuffix(req.URL.Path, "/") || req.URL.Path == "/" {
		return route, params, err
	}
	bare := req.Clone(req.Context())
	bare.URL.Path = strings.TrimSuffix(req.URL.Path, "/")
	bare.URL.RawPath = ""
	if route, params, err2 := s.router.FindRoute(bare); err2 == nil {
		return route, params, nil
	}
	return route, params, err
}

// validate checks res against the responses of route's operation.
func validate(req *http.Request, route *routers.Route, params map[string]string, res *Response) error {
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status: res.Status,
		Header: res.Header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true, // a status the spec does not list is an error
			MultiError:            true,
		},
	}
	in.SetBodyBytes(res.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return err
	}
	return nil
}

// checkMethodNotAllowed checks a 405. A method the spec does not list for
// a path is the router's answer, not an operation's, and carries Allow. An
// operation of the path that describes a 405 response (the RFC endpoints
// answer it as an RFC 6749 error) says what the answer to every other
// method looks like; otherwise it is a JSON:API error document. A HEAD
// answer has no body to check.
func (s *spec) checkMethodNotAllowed(req *http.Request, res *Response) error {
	allow := res.Header.Get("Allow")
	if allow == "" {
		return fmt.Errorf("405 without an Allow header")
	}
	for _, m := range strings.Split(allow, ",") {
		alt := req.Clone(req.Context())
		alt.Method = strings.ToUpper(strings.TrimSpace(m))
		route, params, err := s.findRoute(alt)
		if err != nil || route.Operation.Responses.Status(http.StatusMethodNotAllowed) == nil {
			continue
		}
		if req.Method == http.MethodHead {
			return nil
		}
		return validate(alt, route, params, res)
	}
	if req.Method == http.MethodHead {
		return nil
	}
	return checkErrorDocument(res)
}

// checkErrorDocument checks the shape of an error answer that no operation
// describes (an unknown route or method).
func checkErrorDocument(res *Response) error {
	var doc struct {
		Errors []struct {
			Status string `json:"status"`
			Code   string `json:"code"`
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(res.Body, &doc); err != nil || len(doc.Errors) == 0 {
		return fmt.Errorf("not a JSON:API error document: %s", res.Body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/vnd.api+json" {
		return fmt.Errorf("content type %q, want application/vnd.api+json", ct)
	}
	for _, e := range doc.Errors {
		if e.Status != fmt.Sprint(res.Status) || e.Code == "" || e.Detail == "" {
			return fmt.Errorf("error object lacks status/code/detail: %s", res.Body)
		}
	}
	return nil
}

// checkConsoleUnrouted checks the console's page for an unknown path or
// method: HTML, never cached, with the console's CSP (and Allow on a 405).
func checkConsoleUnrouted(res *Response) error {
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		return fmt.Errorf("a console path answered %d with %q, want the console's HTML page", res.Status, ct)
	}
	if res.Header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(res.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		return fmt.Errorf("the console's %d page lacks its no-store or CSP header", res.Status)
	}
	if res.Status == http.StatusMethodNotAllowed && res.Header.Get("Allow") == "" {
		return fmt.Errorf("405 without an Allow header")
	}
	return nil
}
