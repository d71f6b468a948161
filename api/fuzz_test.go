package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/internal/fault"
	"github.com/oauthd/oauthd/internal/listing"
)

// fuzzSchemas are the request schemas of every resource the API decodes.
var fuzzSchemas = []schema{userSchema, apiKeySchema, tenantSchema, memberSchema, componentSchema, flowSchema, oauthClientSchema}

// fuzzListSpecs are the list endpoints' query specs.
var fuzzListSpecs = []listSpec{userList, apiKeyList, tenantList, memberList, componentList, flowList, oauthClientList, auditList}

var decodeSeeds = []string{
	// elastic.io's create and update bodies
	`{"data":{"type":"oauth-client","attributes":{"client_id":"{CLIENT_ID}","client_secret":"{CLIENT_SECRET}"},"relationships":{"component":{"data":{"id":"{COMPONENT_ID}","type":"component"}}}}}`,
	`{"data":{"type":"oauth-client","id":"0f8fad5b-d9cb-469f-a165-70867728950e","attributes":{"client_id":"a"}}}`,
	`{"data":{"type":"tenant","attributes":{"name":"acme"}}}`,
	`{"data":{"type":"user","attributes":{"email":"a@x.io","password":"...","superuser":false}}}`,
	`{"data":{"type":"api-key","attributes":{"name":"ci"}}}`,
	`{"data":{"type":"member","attributes":{"roles":["admin"],"permissions":[]},"relationships":{"user":{"data":{"type":"user","id":"u"}}}}}`,
	`{"data":{"type":"component","attributes":{"name":"salesforce","visibility":"tenant","descriptor":{"useOAuthClient":true}}}}`,
	`{"data":{"type":"flow","attributes":{"name":"sync"},"relationships":{"components":{"data":[{"type":"component","id":"c"}]}}}}`,
	`{"data":{"type":"flow","relationships":{"components":{"data":[{"type":"flow","id":"c"},{"id":"x"},7]}}}}`,
	`{"data":{"type":"member","attributes":{"roles":"admin","permissions":[1]},"relationships":{"user":{"data":null}}}}`,
	`{"data":{"type":"oauth-client","attributes":{"client_id":7,"client_secret":null,"x":1},"relationships":{"y":{}}}}`,
	`{"data":{"type":"component","attributes":{"name":"\ud800","descriptor":"{}"}}}`,
	"{\"data\":{\"type\":\"tenant\",\"attributes\":{\"name\":\"\xff\"}}}",
	`{"data":{"type":"tenant","attributes":{"name":"a\u0000\u202e\u200b"}}}`,
	`{"data":{"type":"tenant"}} {}`,
	`{"data":[]}`,
	`{"data":null}`,
	`{"included":[],"data":{"type":"tenant","links":{},"meta":{}},"meta":{},"jsonapi":{"version":"1.1"}}`,
	`[]`,
	`null`,
	`"data"`,
	``,
	`{"data":{"type":"tenant","attributes":{"name":1e999}}}`,
	`{"data":{"type":"x","id":5,"attributes":[],"relationships":null}}`,
}

// FuzzDecodeDocument feeds arbitrary bodies to the strict decoder and every
// reader of the decoded resource. It must never panic, and every error must
// be a client error the API knows how to answer.
func FuzzDecodeDocument(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(5))
	}
	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		s := fuzzSchemas[int(which)%len(fuzzSchemas)]
		doc, err := decodeDocument(body, s)
		if err != nil {
			checkClientError(t, err, 400, 409)
			return
		}
		if doc.Type != s.Type {
			t.Fatalf("accepted type %q for schema %q", doc.Type, s.Type)
		}
		if !utf8.Valid(body) {
			t.Fatalf("accepted a body that is not UTF-8: %q", body)
		}
		for k := range doc.attributes {
			if !slices.Contains(s.Attributes, k) {
				t.Fatalf("accepted unknown attribute %q", k)
			}
		}
		for k := range doc.relationships {
			if !slices.Contains(s.Relationships, k) {
				t.Fatalf("accepted unknown relationship %q", k)
			}
		}
		// Read every member with every reader, as the handlers might.
		for _, a := range s.Attributes {
			if v := doc.str(a); v != nil && !utf8.ValidString(*v) {
				t.Fatalf("attribute %s read as invalid UTF-8 %q", a, *v)
			}
			_ = doc.strOrEmpty(a)
			_ = doc.boolean(a)
			_ = doc.strings(a)
			_ = doc.object(a)
			_ = doc.has(a)
		}
		for _, r := range s.Relationships {
			_ = doc.toOne(r, "component")
			_ = doc.toMany(r, "component")
		}
		if err := doc.err(); err != nil {
			checkClientError(t, err, 400, 409)
		}
	})
}

// checkClientError asserts err is an *apiError or fault problems that the
// API answers with one of the allowed statuses, each object placed.
func checkClientError(t *testing.T, err error, allowed ...int) {
	t.Helper()
	var ae *apiError
	if !errors.As(err, &ae) {
		ps, ok := fault.List(err)
		if !ok {
			t.Fatalf("error is neither *apiError nor fault problems: %T %v", err, err)
		}
		ae = fromProblems(ps)
	}
	allowed = append(allowed, 403, 422)
	if !slices.Contains(allowed, ae.status) {
		t.Fatalf("status %d not in %v: %v", ae.status, allowed, ae)
	}
	if len(ae.objects) == 0 {
		t.Fatalf("error without objects: %v", ae)
	}
	for _, o := range ae.objects {
		if o.Code == "" || o.Detail == "" || o.Title == "" {
			t.Fatalf("incomplete error object: %+v", o)
		}
		n, err := strconv.Atoi(o.Status)
		if err != nil || n < 400 || n > 499 {
			t.Fatalf("error object status %q is not a 4xx", o.Status)
		}
		wholeDocument := o.Code == "body_required" || o.Code == "invalid_json" || o.Code == "trailing_data" || o.Code == "invalid_text" ||
			o.Code == "too_many_members" || o.Code == "too_deep"
		if o.Source == nil {
			if !wholeDocument {
				t.Fatalf("error object %s names no member: %+v", o.Code, o)
			}
			continue
		}
		if o.Source.Pointer == "" && o.Source.Parameter == "" {
			t.Fatalf("error object %s has an empty source: %+v", o.Code, o)
		}
		if o.Source.Pointer != "" && !strings.HasPrefix(o.Source.Pointer, "/") {
			t.Fatalf("pointer %q is not a JSON pointer", o.Source.Pointer)
		}
	}
}

var listSeeds = []string{
	"",
	"page[number]=2&page[size]=50",
	"page%5Bnumber%5D=1&page%5Bsize%5D=100",
	"page[size]=0", "page[size]=-1", "page[size]=101", "page[size]=abc", "page[size]=1&page[size]=2",
	"page[number]=0", "page[number]=9223372036854775807", "page[number]=2147483648",
	"sort=-updated_at", "sort=name,-created_at", "sort=", "sort=nope", "sort=name,name", "sort=-",
	"filter[component]=0f8fad5b-d9cb-469f-a165-70867728950e", "filter[visibility]=global",
	"filter[action]=%00", "filter[action]=%ff", "filter[nope]=1", "filter[]=", "filter[component",
	"include=component", "include=", "fields[oauth-client]=client_id", "x=1", "=", "&&&", "a=%zz", "page[size]=5;x=1",
	"page[size]=%zz",
	"page[after]=eyJvIjoiIiwiayI6WyIyMDI2LTAxLTAxVDAwOjAwOjAwWiIsIjBmOGZhZDViLWQ5Y2ItNDY5Zi1hMTY1LTcwODY3NzI4OTUwZSJdfQ",
	"page[before]=eyJvIjoiIiwiZSI6dHJ1ZX0", "page[after]=eyJvIjoibmFtZSIsImUiOnRydWV9&sort=name",
	"page[after]=x&page[before]=y", "page[after]=eyJvIjoiIiwiZSI6dHJ1ZX0&page[number]=2", "page[after]=", "page[before]=%ff",
}

// FuzzParseList feeds arbitrary query strings to the list parser. It must
// never panic; it either returns a page within bounds or 400 errors each
// naming a parameter.
func FuzzParseList(f *testing.F) {
	for _, s := range listSeeds {
		f.Add(s, uint8(0))
		f.Add(s, uint8(5))
		f.Add(s, uint8(7))
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, rawQuery string, which uint8) {
		spec := fuzzListSpecs[int(which)%len(fuzzListSpecs)]
		req := httptest.NewRequest(http.MethodGet, "/v2/things", nil)
		req.URL.RawQuery = rawQuery
		c := e.NewContext(req, httptest.NewRecorder())
		q, err := parseList(c, spec)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				t.Fatalf("error is not an *apiError: %T %v", err, err)
			}
			if ae.status != http.StatusBadRequest || len(ae.objects) == 0 {
				t.Fatalf("status %d with %d objects, want 400: %v", ae.status, len(ae.objects), ae)
			}
			for _, o := range ae.objects {
				if o.Status != "400" || o.Code == "" || o.Detail == "" {
					t.Fatalf("bad error object %+v", o)
				}
				if o.Source == nil {
					if !fuzzHasEmptyKey(rawQuery) {
						t.Fatalf("error %s names no parameter for query %q", o.Code, rawQuery)
					}
					continue
				}
				if o.Source.Pointer != "" || o.Source.Parameter == "" {
					t.Fatalf("error %s has source %+v for query %q", o.Code, o.Source, rawQuery)
				}
			}
			return
		}
		p := q.Page
		if p.Number < 1 || p.Number > maxPageNumber || p.Size < 1 || p.Size > listing.MaxSize || p.Offset() < 0 {
			t.Fatalf("accepted page out of bounds: %+v for %q", p, rawQuery)
		}
		for _, s := range p.Sort {
			if !slices.Contains(spec.Sorts, s.Field) {
				t.Fatalf("accepted sort by %q", s.Field)
			}
		}
		if p.After != nil && p.Before != nil || (p.After != nil || p.Before != nil) && q.numbered {
			t.Fatalf("accepted a range or a numbered page with a cursor: %q", rawQuery)
		}
		for name, v := range q.Filters {
			if !slices.Contains(spec.Filters, name) {
				t.Fatalf("accepted filter %q", name)
			}
			if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
				t.Fatalf("accepted filter value %q", v)
			}
		}
		// What was accepted is what a lenient parser sees too.
		if lenient, err := url.ParseQuery(rawQuery); err != nil {
			t.Fatalf("accepted %q, which url.ParseQuery rejects: %v", rawQuery, err)
		} else if len(lenient) != len(q.Filters)+fuzzCountPageParams(lenient) {
			t.Fatalf("accepted %q but some parameter was not used: %v", rawQuery, lenient)
		}
	})
}

func fuzzHasEmptyKey(rawQuery string) bool {
	for _, pair := range strings.Split(rawQuery, "&") {
		k, _, _ := strings.Cut(pair, "=")
		if pair != "" {
			if u, err := url.QueryUnescape(k); err != nil || u == "" {
				return true
			}
		}
	}
	return false
}

func fuzzCountPageParams(v url.Values) int {
	n := 0
	for _, k := range []string{"page[number]", "page[size]", "sort", "page[after]", "page[before]"} {
		if _, ok := v[k]; ok {
			n++
		}
	}
	return n
}
