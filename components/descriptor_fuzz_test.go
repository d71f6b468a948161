package components

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseDescriptor checks that ParseDescriptor never panics and that
// whatever it accepts can be stored as jsonb and read back unchanged in
// meaning: one JSON object, UTF-8 without NUL or lone surrogates, finite
// numbers of sane size, bounded depth.
func FuzzParseDescriptor(f *testing.F) {
	for _, seed := range []string{
		elasticioEnvVars,
		elasticioPizzaVan,
		elasticioOutlook,
		`{"useOAuthClient": true, "envVars": {"A_KEY": {}, "B_ID": {}, "A_SECRET": {}}, "credentials": {"oauth2": {"client_id": "{{A_KEY}}", "scopes": ["x"], "client_auth": "basic", "refresh_token_uri": "http://127.0.0.1/r"}}}`,
		`{}`,
		``,
		`{"useOAuthClient": true}`,
		`{"oauth2": {"client_id": "abc", "client_secret": "s3cr3t", "auth_uri": "https://a.example/auth", "token_uri": "https://a.example/token"}}`,
		`{"envVars": {"K": {"required": "yes", "description": 5}}}`,
		`{"title": "a\u0000b"}`,
		`{"\u0000": 1}`,
		`{"title": "\ud800"}`,
		`{"title": "\ud83c\udf55"}`,
		`{"title": "\\ud800"}`,
		`{"": "\\u00000"}`,
		"{\"title\": \"\xff\"}",
		`{"n": 1e999}`,
		`{"n": 1e-100000}`,
		`{"n": -0.0e+0}`,
		`{} []`,
		`[{"a": 1}]`,
		`null`,
		strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40),
		strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100),
		`{"a/b": {"~": [1, 2.5, "x", null, true]}}`,
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, raw []byte, global bool) {
		d, ps := ParseDescriptor(json.RawMessage(raw), global)
		for _, p := range ps {
			if p.Code == "" || p.Detail == "" || p.Attribute == "" {
				t.Fatalf("problem without code, detail or attribute: %+v", p)
			}
			if p.Attribute != "descriptor" && !strings.HasPrefix(p.Attribute, "descriptor/") {
				t.Fatalf("problem outside the descriptor: %+v", p)
			}
		}
		if len(ps) > 0 || len(raw) == 0 {
			return
		}
		if !utf8.Valid(raw) || hasLoneSurrogate(raw) {
			t.Fatalf("accepted text jsonb would refuse: %q", raw)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("accepted a descriptor that does not decode: %v", err)
		}
		if dec.More() {
			t.Fatalf("accepted a descriptor with data after it: %q", raw)
		}
		top, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("accepted a descriptor that is not an object: %q", raw)
		}
		fuzzCheckStorable(t, v, 0)
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("accepted a descriptor that does not re-marshal: %v", err)
		}
		// The re-marshalled form must decode to the same tree: NUL and the
		// like were already refused per string by fuzzCheckStorable (a byte
		// search for `\u0000` here would also match an escaped backslash
		// followed by "u0000", which is ordinary text).
		redec := json.NewDecoder(bytes.NewReader(out))
		redec.UseNumber()
		var again any
		if err := redec.Decode(&again); err != nil || !reflect.DeepEqual(v, again) {
			t.Fatalf("re-marshalled descriptor reads back differently (%v): %s", err, out)
		}
		if _, present := top["useOAuthClient"]; present && top["useOAuthClient"] != d.UseOAuthClient {
			t.Fatalf("UseOAuthClient = %v but the document says %v", d.UseOAuthClient, top["useOAuthClient"])
		}
		// A {{VAR}} reference carries no secret (the variable holds it).
		if global && d.OAuth2 != nil && d.OAuth2.ClientSecret != "" && EnvReference(d.OAuth2.ClientSecret) == "" {
			t.Fatalf("accepted a global component with a secret: %q", raw)
		}
	})
}

func fuzzCheckStorable(t *testing.T, v any, depth int) {
	t.Helper()
	if depth > maxDescriptorDepth+1 {
		t.Fatalf("accepted a descriptor nested deeper than %d", maxDescriptorDepth)
	}
	switch x := v.(type) {
	case string:
		if strings.ContainsRune(x, 0) {
			t.Fatalf("accepted a string with NUL: %q", x)
		}
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || len(x) > maxNumberLength {
			t.Fatalf("accepted a number that is not a sane finite float: %s", x)
		}
	case map[string]any:
		for k, child := range x {
			if strings.ContainsRune(k, 0) {
				t.Fatalf("accepted a key with NUL: %q", k)
			}
			fuzzCheckStorable(t, child, depth+1)
		}
	case []any:
		for _, child := range x {
			fuzzCheckStorable(t, child, depth+1)
		}
	}
}
