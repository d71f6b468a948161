package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestDecodeDocumentNamesTheMemberAtFault(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		status  int
		code    string
		pointer string
	}{
		{"empty", ``, 400, "body_required", ""},
		{"not JSON", `{"data":`, 400, "invalid_json", ""},
		{"top-level array", `[{"data":{}}]`, 400, "invalid_json", ""},
		{"null", `null`, 400, "invalid_json", ""},
		{"trailing bytes", `{"data":{"type":"tenant"}}x`, 400, "trailing_data", ""},
		{"second document", `{"data":{"type":"tenant"}}{}`, 400, "trailing_data", ""},
		{"data null", `{"data":null}`, 400, "data_required", "/data"},
		{"data missing", `{"meta":{}}`, 400, "data_required", "/data"},
		{"data array", `{"data":[]}`, 400, "invalid_data", "/data"},
		{"unknown top-level member", `{"data":{"type":"tenant"},"included":[]}`, 400, "unknown_member", "/included"},
		{"unknown attribute", `{"data":{"type":"tenant","attributes":{"x":1}}}`, 400, "unknown_attribute", "/data/attributes/x"},
		{"attributes not an object", `{"data":{"type":"tenant","attributes":[]}}`, 400, "wrong_type", "/data/attributes"},
		{"type missing", `{"data":{"attributes":{"name":"a"}}}`, 400, "type_required", "/data/type"},
		{"type a number", `{"data":{"type":1}}`, 400, "wrong_type", "/data/type"},
		{"wrong type", `{"data":{"type":"user"}}`, 409, "type_mismatch", "/data/type"},
		{"lone high surrogate in an attribute", `{"data":{"type":"tenant","attributes":{"name":"a\ud800b"}}}`, 400, "invalid_text", "/data/attributes/name"},
		{"lone low surrogate in a key", `{"data":{"type":"tenant","attributes":{"\udfff":"a"}}}`, 400, "invalid_text", "/data/attributes"},
		{"reversed pair", `{"data":{"type":"tenant","attributes":{"name":"\udc00\ud800"}}}`, 400, "invalid_text", "/data/attributes/name"},
		{"invalid UTF-8 in an attribute", "{\"data\":{\"type\":\"tenant\",\"attributes\":{\"name\":\"a\xc3\"}}}", 400, "invalid_text", "/data/attributes/name"},
		{"invalid UTF-8 deep in an array", "{\"data\":{\"type\":\"tenant\",\"meta\":{\"a\":[1,{\"b\":[\"ok\",\"\xff\"]}]}}}", 400, "invalid_text", "/data/meta/a/1/b/1"},
		{"pointer escapes", "{\"data\":{\"type\":\"tenant\",\"meta\":{\"a/b~c\":\"\\udbff\"}}}", 400, "invalid_text", "/data/meta/a~1b~0c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeDocument([]byte(tt.body), tenantSchema)
			var ae *apiError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an *apiError", err)
			}
			if ae.status != tt.status {
				t.Fatalf("status %d, want %d: %v", ae.status, tt.status, ae)
			}
			found := false
			for _, o := range ae.objects {
				ptr := ""
				if o.Source != nil {
					ptr = o.Source.Pointer
				}
				found = found || (o.Code == tt.code && ptr == tt.pointer)
			}
			if !found {
				t.Fatalf("no %s at %q in %v", tt.code, tt.pointer, ae)
			}
		})
	}
}

func TestDecodeDocumentAcceptsUnicodeItCanStore(t *testing.T) {
	for _, body := range []string{
		`{"data":{"type":"tenant","attributes":{"name":"pizza \ud83c\udf55"}}}`,
		`{"data":{"type":"tenant","attributes":{"name":"\\ud800 is not an escape here"}}}`,
		`{"data":{"type":"tenant","attributes":{"name":"Пицца 🍕"}}}`,
		`{"data":{"type":"tenant","attributes":{"name":"a"},"meta":{"n":1e999}}}`,
	} {
		if _, err := decodeDocument([]byte(body), tenantSchema); err != nil {
			t.Errorf("decodeDocument(%s): %v", body, err)
		}
	}
}

func TestDecodeDocumentReportsEveryUnknownMemberAtOnce(t *testing.T) {
	_, err := decodeDocument([]byte(`{"data":{"type":"oauth-client","attributes":{"a":1,"b":2},"relationships":{"c":{}},"x":1},"y":2}`), oauthClientSchema)
	var ae *apiError
	if !errors.As(err, &ae) || ae.status != http.StatusBadRequest {
		t.Fatalf("want 400 apiError, got %v", err)
	}
	var pointers []string
	for _, o := range ae.objects {
		pointers = append(pointers, o.Source.Pointer)
	}
	slices.Sort(pointers)
	want := []string{"/data/attributes/a", "/data/attributes/b", "/data/relationships/c", "/data/x", "/y"}
	if !slices.Equal(pointers, want) {
		t.Fatalf("pointers %v, want %v", pointers, want)
	}
}

func TestParseListReportsEveryParameterAtOnce(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.URL.RawQuery = "page[size]=0&sort=nope&filter[x]=1&include=a"
	c := echo.New().NewContext(req, httptest.NewRecorder())
	_, err := parseList(c, oauthClientList)
	var ae *apiError
	if !errors.As(err, &ae) || ae.status != http.StatusBadRequest {
		t.Fatalf("want 400 apiError, got %v", err)
	}
	var params []string
	for _, o := range ae.objects {
		params = append(params, o.Source.Parameter)
	}
	want := []string{"filter[x]", "include", "page[size]", "sort"}
	if !slices.Equal(params, want) {
		t.Fatalf("parameters %v, want %v (sorted)", params, want)
	}
}

func TestParseListBounds(t *testing.T) {
	tests := []struct {
		query string
		param string // "" means accepted
	}{
		{"page[number]=1&page[size]=1", ""},
		{"page[number]=2147483647&page[size]=100", ""},
		{"page[number]=2147483648", "page[number]"},
		{"page[number]=9223372036854775807", "page[number]"},
		{"page[number]=99999999999999999999", "page[number]"},
		{"page[size]=100", ""},
		{"page[size]=101", "page[size]"},
		{"page[size]=%zz", "page[size]"},
		{"page[size]=5;x=1", "page[size]"},
		{"filter[component]=%00", "filter[component]"},
		{"filter[component]=%ff", "filter[component]"},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.RawQuery = tt.query
		c := echo.New().NewContext(req, httptest.NewRecorder())
		q, err := parseList(c, oauthClientList)
		if tt.param == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.query, err)
			} else if q.Page.Offset() < 0 {
				t.Errorf("%s: negative offset", tt.query)
			}
			continue
		}
		var ae *apiError
		if !errors.As(err, &ae) || ae.status != 400 || ae.objects[0].Source.Parameter != tt.param {
			t.Errorf("%s: want 400 naming %s, got %v", tt.query, tt.param, err)
		}
	}
}
