package components

import (
	"encoding/json"
	"reflect"
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

// elasticioOutlook is the head of elastic.io's Outlook component.json (its
// "OAuth2 setup preparation in component.json" docs): oauth2 under
// credentials, the client read from {{VAR}} references to envVars.
const elasticioOutlook = `{
  "title": "Outlook",
  "description": "integration component for Office 365 Outlook REST API",
  "envVars": {
    "MSAPP_CLIENT_ID": {"required": true, "description": "Your App Client ID"},
    "MSAPP_CLIENT_SECRET": {"required": true, "description": "Your App Client Secret"}
  },
  "credentials": {
    "fields": {"oauth": {"label": "Authentication", "viewClass": "OAuthFieldView", "required": true}},
    "oauth2": {
      "client_id": "{{MSAPP_CLIENT_ID}}",
      "client_secret": "{{MSAPP_CLIENT_SECRET}}",
      "auth_uri": "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
      "token_uri": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
      "scopes": ["openid","offline_access","User.Read","Contacts.Read","Profile","Calendars.ReadWrite"]
    }
  }
}`

var pizzaVanBlock = &OAuth2Block{AuthURI: "https://auth_uri", TokenURI: "https://token_uri", ClientAuth: "body", Scopes: []string{}, Pointer: "descriptor/oauth2"}

var outlookBlock = &OAuth2Block{ClientID: "{{MSAPP_CLIENT_ID}}", ClientSecret: "{{MSAPP_CLIENT_SECRET}}",
	AuthURI:    "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
	TokenURI:   "https://login.microsoftonline.com/common/oauth2/v2.0/token",
	Scopes:     []string{"openid", "offline_access", "User.Read", "Contacts.Read", "Profile", "Calendars.ReadWrite"},
	ClientAuth: "body", Pointer: "descriptor/credentials/oauth2"}

// block is an oauth2 block with nothing set, at pointer.
func block(pointer string) *OAuth2Block {
	return &OAuth2Block{ClientAuth: "body", Scopes: []string{}, Pointer: pointer}
}

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
		{name: "elastic.io pizza van oauth2", raw: elasticioPizzaVan, useOAuthClient: true, oauth2: pizzaVanBlock},
		{name: "elastic.io pizza van as a global component", raw: elasticioPizzaVan, global: true, useOAuthClient: true, oauth2: pizzaVanBlock},
		{name: "elastic.io outlook, oauth2 under credentials", raw: elasticioOutlook, oauth2: outlookBlock},
		{name: "elastic.io outlook as a global component (references carry no secret)", raw: elasticioOutlook, global: true, oauth2: outlookBlock},
		{name: "every field", raw: `{"oauth2": {"client_id": "id", "client_secret": "s", "auth_uri": "https://p.example/a", "token_uri": "https://p.example/t",
			"refresh_token_uri": "https://p.example/r", "scopes": ["a", "b", "a"], "client_auth": "basic"}}`,
			oauth2: &OAuth2Block{ClientID: "id", ClientSecret: "s", AuthURI: "https://p.example/a", TokenURI: "https://p.example/t",
				RefreshTokenURI: "https://p.example/r", Scopes: []string{"a", "b"}, ClientAuth: "basic", Pointer: "descriptor/oauth2"}},
		{name: "client_auth body", raw: `{"oauth2": {"client_auth": "body"}}`, oauth2: block("descriptor/oauth2")},
		{name: "loopback http", raw: `{"oauth2": {"auth_uri": "http://127.0.0.1:8080/oauth/authorize", "token_uri": "http://[::1]/t"}}`,
			oauth2: &OAuth2Block{AuthURI: "http://127.0.0.1:8080/oauth/authorize", TokenURI: "http://[::1]/t", ClientAuth: "body", Scopes: []string{}, Pointer: "descriptor/oauth2"}},
		{name: "empty object", raw: `{}`},
		{name: "absent", raw: ``},
		{name: "useOAuthClient false", raw: `{"useOAuthClient": false}`},
		{name: "tenant component keeps its own secret", raw: `{"oauth2": {"client_id": "abc", "client_secret": "s3cr3t"}}`,
			oauth2: &OAuth2Block{ClientID: "abc", ClientSecret: "s3cr3t", ClientAuth: "body", Scopes: []string{}, Pointer: "descriptor/oauth2"}},
		{name: "global component with an empty secret", raw: `{"oauth2": {"client_id": "abc", "client_secret": ""}}`, global: true,
			oauth2: &OAuth2Block{ClientID: "abc", ClientAuth: "body", Scopes: []string{}, Pointer: "descriptor/oauth2"}},
		{name: "http URLs", raw: `{"oauth2": {"auth_uri": "http://localhost:8080/auth", "token_uri": "https://login.salesforce.com/services/oauth2/token?x=1"}}`,
			oauth2: &OAuth2Block{AuthURI: "http://localhost:8080/auth", TokenURI: "https://login.salesforce.com/services/oauth2/token?x=1",
				ClientAuth: "body", Scopes: []string{}, Pointer: "descriptor/oauth2"}},
		{name: "empty URLs", raw: `{"oauth2": {"auth_uri": "", "token_uri": ""}}`, oauth2: block("descriptor/oauth2")},
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
			case tt.oauth2 != nil && (d.OAuth2 == nil || !reflect.DeepEqual(*d.OAuth2, *tt.oauth2)):
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
		{name: "placeholder without scheme, as elastic.io's example writes it", raw: `{"oauth2": {"token_uri": "token_uri"}}`, want: []string{"descriptor/oauth2/token_uri:invalid_url"}},
		{name: "javascript URL", raw: `{"oauth2": {"auth_uri": "javascript:alert(1)"}}`, want: []string{"descriptor/oauth2/auth_uri:invalid_url"}},
		{name: "ftp URL", raw: `{"oauth2": {"token_uri": "ftp://example.com/token"}}`, want: []string{"descriptor/oauth2/token_uri:invalid_url"}},
		{name: "URL without host", raw: `{"oauth2": {"token_uri": "https:///token"}}`, want: []string{"descriptor/oauth2/token_uri:invalid_url"}},
		{name: "URL that does not parse", raw: `{"oauth2": {"auth_uri": "https://exa mple.com:x/"}}`, want: []string{"descriptor/oauth2/auth_uri:invalid_url"}},
		{name: "every problem at once", raw: `{"useOAuthClient": "yes", "envVars": 1, "oauth2": {"auth_uri": "nope", "client_secret": "s"}}`, global: true,
			want: []string{"descriptor/envVars:wrong_type", "descriptor/oauth2/auth_uri:invalid_url",
				"descriptor/oauth2/client_secret:secret_in_global_component", "descriptor/useOAuthClient:wrong_type"}},
		{name: "plain http off loopback", raw: `{"oauth2": {"token_uri": "http://auth.example.com/token"}}`, want: []string{"descriptor/oauth2/token_uri:invalid_url"}},
		{name: "fragment", raw: `{"oauth2": {"auth_uri": "https://p.example/a#x"}}`, want: []string{"descriptor/oauth2/auth_uri:invalid_url"}},
		{name: "user information", raw: `{"oauth2": {"token_uri": "https://u:p@p.example/t"}}`, want: []string{"descriptor/oauth2/token_uri:invalid_url"}},
		{name: "bad refresh_token_uri", raw: `{"oauth2": {"refresh_token_uri": "refresh"}}`, want: []string{"descriptor/oauth2/refresh_token_uri:invalid_url"}},
		{name: "oauth2 in both places", raw: `{"oauth2": {}, "credentials": {"oauth2": {}}}`, want: []string{"descriptor/credentials/oauth2:duplicate_oauth2"}},
		{name: "credentials not an object", raw: `{"credentials": []}`, want: []string{"descriptor/credentials:wrong_type"}},
		{name: "credentials.oauth2 not an object", raw: `{"credentials": {"oauth2": 1}}`, want: []string{"descriptor/credentials/oauth2:wrong_type"}},
		{name: "problems under credentials sit at their pointers", raw: `{"credentials": {"oauth2": {"auth_uri": "x", "scopes": "openid"}}}`,
			want: []string{"descriptor/credentials/oauth2/auth_uri:invalid_url", "descriptor/credentials/oauth2/scopes:wrong_type"}},
		{name: "scope with a space", raw: `{"oauth2": {"scopes": ["ok", "not ok", 3]}}`,
			want: []string{"descriptor/oauth2/scopes/1:invalid_scope", "descriptor/oauth2/scopes/2:invalid_scope"}},
		{name: "empty scope", raw: `{"oauth2": {"scopes": [""]}}`, want: []string{"descriptor/oauth2/scopes/0:invalid_scope"}},
		{name: "too many scopes", raw: `{"oauth2": {"scopes": [` + strings.Repeat(`"s",`, 100) + `"s"]}}`, want: []string{"descriptor/oauth2/scopes:too_many_scopes"}},
		{name: "unknown client_auth", raw: `{"oauth2": {"client_auth": "header"}}`, want: []string{"descriptor/oauth2/client_auth:invalid_client_auth"}},
		{name: "reference to an undeclared envVar", raw: `{"envVars": {"A_ID": {}}, "credentials": {"oauth2": {"client_id": "{{MSAPP_CLIENT_ID}}"}}}`,
			want: []string{"descriptor/credentials/oauth2/client_id:undeclared_env_var"}},
		{name: "reference inside a literal", raw: `{"envVars": {"X": {}}, "oauth2": {"client_secret": "pre-{{X}}"}}`,
			want: []string{"descriptor/oauth2/client_secret:invalid_env_reference"}},
		{name: "both fields refer to one variable", raw: `{"useOAuthClient": true, "envVars": {"X": {}}, "oauth2": {"client_id": "{{X}}", "client_secret": "{{X}}"}}`,
			want: []string{"descriptor/oauth2/client_secret:ambiguous_env_link"}},
		{name: "ambiguous id variables", raw: `{"useOAuthClient": true, "envVars": {"PIZZAVAN_KEY": {}, "OAUTH_CLIENT_ID": {}, "PIZZAVAN_SECRET": {}}, "oauth2": {"client_id": "", "client_secret": ""}}`,
			want: []string{"descriptor/envVars:ambiguous_env_link"}},
		{name: "ambiguous secret variables, oauth2 absent", raw: `{"useOAuthClient": true, "envVars": {"A_SECRET": {}, "B_SECRET": {}}}`,
			want: []string{"descriptor/envVars:ambiguous_env_link"}},
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

func TestEnvLink(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want EnvLink
	}{
		{name: "elastic.io pizza van: the naming rule", raw: elasticioPizzaVan, want: EnvLink{ClientID: "PIZZAVAN_KEY", ClientSecret: "PIZZAVAN_SECRET"}},
		{name: "elastic.io salesforce envVars", raw: `{"useOAuthClient": true, "envVars": {"OAUTH_CLIENT_ID": {}, "OAUTH_CLIENT_SECRET": {}, "LOG_LEVEL": {}}}`,
			want: EnvLink{ClientID: "OAUTH_CLIENT_ID", ClientSecret: "OAUTH_CLIENT_SECRET"}},
		{name: "elastic.io outlook: references", raw: elasticioOutlook, want: EnvLink{ClientID: "MSAPP_CLIENT_ID", ClientSecret: "MSAPP_CLIENT_SECRET"}},
		{name: "a reference beside a name that fits the rule", raw: `{"envVars": {"MY_ID": {}, "APP_KEY": {}, "APP_SECRET": {}}, "oauth2": {"client_id": "{{APP_KEY}}"}}`,
			want: EnvLink{ClientID: "APP_KEY", ClientSecret: "APP_SECRET"}},
		{name: "a literal links nothing", raw: `{"envVars": {"A_ID": {}, "A_SECRET": {}}, "oauth2": {"client_id": "lit", "client_secret": "lit"}}`},
		{name: "no variables", raw: `{"useOAuthClient": true, "oauth2": {"client_id": ""}}`},
		{name: "only a secret variable", raw: `{"envVars": {"PIZZAVAN_SECRET": {}}}`, want: EnvLink{ClientSecret: "PIZZAVAN_SECRET"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ps := ParseDescriptor(json.RawMessage(tt.raw), false)
			if len(ps) > 0 {
				t.Fatalf("rejected: %v", ps)
			}
			got, p := d.Link()
			if p != nil || got != tt.want {
				t.Fatalf("Link() = %+v, %v; want %+v", got, p, tt.want)
			}
			env := got.Env("the-id", "the-secret")
			if tt.want.ClientID != "" && env[tt.want.ClientID] != "the-id" || tt.want.ClientSecret != "" && env[tt.want.ClientSecret] != "the-secret" {
				t.Fatalf("Env = %v", env)
			}
		})
	}
}

// An ambiguous link names the variables in its meta and detail, so the
// author knows which to rename.
func TestEnvLinkAmbiguousNamesTheVariables(t *testing.T) {
	_, ps := ParseDescriptor(json.RawMessage(`{"useOAuthClient": true, "envVars": {"PIZZAVAN_KEY": {}, "OAUTH_CLIENT_ID": {}, "PIZZAVAN_SECRET": {}}}`), false)
	if len(ps) != 1 {
		t.Fatalf("problems = %v", ps)
	}
	vars, _ := ps[0].Meta["env_vars"].([]string)
	if !slices.Equal(vars, []string{"OAUTH_CLIENT_ID", "PIZZAVAN_KEY"}) || !strings.Contains(ps[0].Detail, "OAUTH_CLIENT_ID, PIZZAVAN_KEY") {
		t.Fatalf("problem = %+v", ps[0])
	}
}
