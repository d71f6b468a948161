package components

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/internal/fault"
)

// elasticioEnvVars is the envVars block of elastic.io's Salesforce example.
const elasticioEnvVars = `{
  "envVars": {
    "OAUTH_CLIENT_ID": {"required": true, "description": "Your Salesforce OAuth client key"},
    "OAUTH_CLIENT_SECRET": {"required": true, "description": "Your Salesforce OAuth client secret"}
  }
}`

// elasticioPizzaVan is elastic.io's compatibility example: the old envVars and
// the oauth2 object with useOAuthClient.
const elasticioPizzaVan = `{
  "envVars": {
    "PIZZAVAN_KEY": {"required": true, "description": "Your Pizza Van OAuth client key"},
    "PIZZAVAN_SECRET": {"required": true, "description": "Your Pizza Van OAuth client secret"}
  },
  "oauth2": {
    "client_id": "",
    "client_secret": "",
    "auth_uri": "https://auth_uri",
    "token_uri": "https://token_uri"
  },
  "useOAuthClient": true
}`

// problemAt is "attribute:code" for each problem, sorted.
func problemAt(ps fault.Problems) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Attribute + ":" + p.Code
		if p.Kind != fault.Invalid {
			out[i] += ":kind-not-invalid"
		}
	}
	slices.Sort(out)
	return out
}

func TestParseDescriptorAccepts(t *testing.T) {
	tests := []struct {
		name           string
		raw            string
		global         bool
		useOAuthClient bool
		oauth2         *OAuth2Block
	}{
		{name: "elastic.io envVars", raw: elasticioEnvVars},
		{name: "elastic.io pizza van oauth2", raw: elasticioPizzaVan, useOAuthClient: true, oauth2: &OAuth2Block{}},
		{name: "elastic.io pizza van as a global component", raw: elasticioPizzaVan, global: true, useOAuthClient: true, oauth2: &OAuth2Block{}},
		{name: "empty object", raw: `{}`},
		{name: "absent", raw: ``},
		{name: "useOAuthClient false", raw: `{"useOAuthClient": false}`},
		{name: "tenant component keeps its own secret", raw: `{"oauth2": {"client_id": "abc", "client_secret": "s3cr3t"}}`,
			oauth2: &OAuth2Block{ClientID: "abc", ClientSecret: "s3cr3t"}},
		{name: "global component with an empty secret", raw: `{"oauth2": {"client_id": "abc", "client_secret": ""}}`, global: true,
			oauth2: &OAuth2Block{ClientID: "abc"}},
		{name: "http URLs", raw: `{"oauth2": {"auth_uri": "http://localhost:8080/auth", "token_uri": "https://login.salesforce.com/services/oauth2/token?x=1"}}`,
			oauth2: &OAuth2Block{}},
		{name: "empty URLs", raw: `{"oauth2": {"auth_uri": "", "token_uri": ""}}`, oauth2: &OAuth2Block{}},
		{name: "envVar with only a description", raw: `{"envVars": {"X": {"description": "x"}}, "title": "Salesforce", "version": "1.2.3"}`},
		{name: "other fields of component.json are kept as they are",
			raw: `{"title": "Pizza", "credentials": {"fields": {"apiKey": {"viewClass": "TextFieldView", "required": true}}}, "triggers": {}, "actions": {"a": {"main": "./lib/a.js", "metadata": {"in": {"type": "object", "properties": {"n": {"type": "number", "default": 1.5e3}}}}}}}`},
		{name: "nesting up to the limit", raw: strings.Repeat(`{"a":`, maxDescriptorDepth) + `1` + strings.Repeat(`}`, maxDescriptorDepth)},
		{name: "surrogate pair escape", raw: `{"title": "pizza \ud83c\udf55"}`},
		{name: "unicode text", raw: `{"title": "Пицца 🍕 ピザ"}`},
		{name: "small and large finite numbers", raw: `{"a": 1e308, "b": -1e-300, "c": 0, "d": -0.5, "e": 12345678901234567890}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ps := ParseDescriptor(json.RawMessage(tt.raw), tt.global)
			if len(ps) > 0 {
				t.Fatalf("ParseDescriptor(%s) rejected it: %v", tt.raw, ps)
			}
			if d.UseOAuthClient != tt.useOAuthClient {
				t.Errorf("UseOAuthClient = %v, want %v", d.UseOAuthClient, tt.useOAuthClient)
			}
			switch {
			case tt.oauth2 == nil && d.OAuth2 != nil:
				t.Errorf("OAuth2 = %+v, want none", d.OAuth2)
			case tt.oauth2 != nil && (d.OAuth2 == nil || *d.OAuth2 != *tt.oauth2):
				t.Errorf("OAuth2 = %+v, want %+v", d.OAuth2, tt.oauth2)
			}
		})
	}
}

func TestParseDescriptorRejects(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40)
	deepArray := `{"a":` + strings.Repeat(`[`, 40) + strings.Repeat(`]`, 40) + `}`
	tests := []struct {
		name   string
		raw    string
		global bool
		want   []string // attribute:code, sorted
	}{
		{name: "array", raw: `[]`, want: []string{"descriptor:invalid_descriptor"}},
		{name: "string", raw: `"component.json"`, want: []string{"descriptor:invalid_descriptor"}},
		{name: "null", raw: `null`, want: []string{"descriptor:invalid_descriptor"}},
		{name: "number", raw: `1`, want: []string{"descriptor:invalid_descriptor"}},
		{name: "not JSON", raw: `{"a":`, want: []string{"descriptor:invalid_descriptor"}},
		{name: "trailing data", raw: `{} {}`, want: []string{"descriptor:invalid_descriptor"}},
		{name: "useOAuthClient string", raw: `{"useOAuthClient": "true"}`, want: []string{"descriptor/useOAuthClient:wrong_type"}},
		{name: "useOAuthClient number", raw: `{"useOAuthClient": 1}`, want: []string{"descriptor/useOAuthClient:wrong_type"}},
		{name: "useOAuthClient null", raw: `{"useOAuthClient": null}`, want: []string{"descriptor/useOAuthClient:wrong_type"}},
		{name: "envVars array", raw: `{"envVars": ["OAUTH_CLIENT_ID"]}`, want: []string{"descriptor/envVars:wrong_type"}},
		{name: "envVars string", raw: `{"envVars": "OAUTH_CLIENT_ID"}`, want: []string{"descriptor/envVars:wrong_type"}},
		{name: "envVar definition a string", raw: `{"envVars": {"KEY": "x"}}`, want: []string{"descriptor/envVars/KEY:wrong_type"}},
		{name: "envVar required a string", raw: `{"envVars": {"KEY": {"required": "yes"}}}`, want: []string{"descriptor/envVars/KEY/required:wrong_type"}},
		{name: "envVar description a number", raw: `{"envVars": {"KEY": {"description": 5}}}`, want: []string{"descriptor/envVars/KEY/description:wrong_type"}},
		{name: "envVar name with a slash is escaped in the path", raw: `{"envVars": {"A/B~C": {"required": 1}}}`,
			want: []string{"descriptor/envVars/A~1B~0C/required:wrong_type"}},
		{name: "oauth2 array", raw: `{"oauth2": []}`, want: []string{"descriptor/oauth2:wrong_type"}},
		{name: "oauth2 string", raw: `{"oauth2": "x"}`, want: []string{"descriptor/oauth2:wrong_type"}},
		{name: "oauth2 fields of the wrong type", raw: `{"oauth2": {"client_id": 1, "client_secret": true, "auth_uri": {}, "token_uri": []}}`,
			want: []string{"descriptor/oauth2/auth_uri:wrong_type", "descriptor/oauth2/client_id:wrong_type",
				"descriptor/oauth2/client_secret:wrong_type", "descriptor/oauth2/token_uri:wrong_type"}},
		{name: "secret in a global component", raw: `{"oauth2": {"client_id": "abc", "client_secret": "s3cr3t"}}`, global: true,
			want: []string{"descriptor/oauth2/client_secret:secret_in_global_component"}},
		{name: "relative auth_uri", raw: `{"oauth2": {"auth_uri": "/authorize"}}`, want: []string{"descriptor/oauth2/auth_uri:invalid_url"}},
		{name: "seed placeholder without scheme", raw: `{"oauth2": {"token_uri": "token_uri"}}`, want: []string{"descriptor/oauth2/token_uri:invalid_url"}},
		{name: "javascript URL", raw: `{"oauth2": {"auth_uri": "javascript:alert(1)"}}`, want: []string{"descriptor/oauth2/auth_uri:invalid_url"}},
		{name: "ftp URL", raw: `{"oauth2": {"token_uri": "ftp://example.com/token"}}`, want: []string{"descriptor/oauth2/token_uri:invalid_url"}},
		{name: "URL without host", raw: `{"oauth2": {"token_uri": "https:///token"}}`, want: []string{"descriptor/oauth2/token_uri:invalid_url"}},
		{name: "URL that does not parse", raw: `{"oauth2": {"auth_uri": "https://exa mple.com:x/"}}`, want: []string{"descriptor/oauth2/auth_uri:invalid_url"}},
		{name: "every problem at once", raw: `{"useOAuthClient": "yes", "envVars": 1, "oauth2": {"auth_uri": "nope", "client_secret": "s"}}`, global: true,
			want: []string{"descriptor/envVars:wrong_type", "descriptor/oauth2/auth_uri:invalid_url",
				"descriptor/oauth2/client_secret:secret_in_global_component", "descriptor/useOAuthClient:wrong_type"}},
		{name: "NUL in a value", raw: `{"title": "a\u0000b"}`, want: []string{"descriptor/title:invalid_string"}},
		{name: "NUL in a key", raw: `{"ti\u0000tle": "x"}`, want: []string{"descriptor:invalid_key"}},
		{name: "NUL deep inside", raw: `{"envVars": {"K": {"description": "\u0000"}}}`, want: []string{"descriptor/envVars/K/description:invalid_string"}},
		{name: "lone high surrogate", raw: `{"title": "\ud800"}`, want: []string{"descriptor:invalid_string"}},
		{name: "lone low surrogate in a key", raw: `{"\udc00": 1}`, want: []string{"descriptor:invalid_string"}},
		{name: "high surrogate followed by a non-surrogate", raw: `{"title": "\ud800\u0041"}`, want: []string{"descriptor:invalid_string"}},
		{name: "invalid UTF-8", raw: "{\"title\": \"\xff\xfe\"}", want: []string{"descriptor:invalid_string"}},
		{name: "number too large", raw: `{"n": 1e999}`, want: []string{"descriptor/n:number_out_of_range"}},
		{name: "number too small for jsonb", raw: `{"n": 1e-100000}`, want: []string{"descriptor/n:number_out_of_range"}},
		{name: "zero with a huge exponent", raw: `{"n": [0e-99999]}`, want: []string{"descriptor/n/0:number_out_of_range"}},
		{name: "a thousand digits", raw: `{"n": 0.` + strings.Repeat("1", 1000) + `}`, want: []string{"descriptor/n:number_out_of_range"}},
		{name: "nesting 40 deep", raw: deep, want: []string{"descriptor:too_deep"}},
		{name: "arrays nesting 40 deep", raw: deepArray, want: []string{"descriptor:too_deep"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ps := ParseDescriptor(json.RawMessage(tt.raw), tt.global)
			got := problemAt(ps)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("ParseDescriptor(%q) problems = %v, want %v", tt.raw, got, tt.want)
			}
			for _, p := range ps {
				if p.Detail == "" {
					t.Errorf("problem %s has no detail", p.Code)
				}
			}
		})
	}
}
