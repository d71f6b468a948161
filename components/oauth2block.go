package components

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/oauthd/oauthd/internal/fault"
)

// Client authentication at the provider's token endpoint (RFC 6749 §2.3.1):
// the credentials in the form body (the default) or in the Authorization
// header ("basic").
const (
	ClientAuthBody  = "body"
	ClientAuthBasic = "basic"
)

// Bounds on the oauth2 block, far above what real component.json files
// hold (Outlook asks for six scopes).
const (
	maxScopes      = 100
	maxScopeLength = 200
	maxURILength   = 2000
)

// OAuth2Block is component.json's oauth2 object: how to reach the provider.
type OAuth2Block struct {
	// ClientID and ClientSecret are as written: empty, a literal, or a
	// {{VAR}} reference to a declared envVar.
	ClientID     string
	ClientSecret string
	AuthURI      string
	TokenURI     string
	// RefreshTokenURI is where refresh requests go; empty means TokenURI.
	RefreshTokenURI string
	Scopes          []string
	// ClientAuth is ClientAuthBody or ClientAuthBasic.
	ClientAuth string
	// Pointer is where the block sits: "descriptor/oauth2" or
	// "descriptor/credentials/oauth2".
	Pointer string
}

// RefreshURI is where refresh requests go.
func (b *OAuth2Block) RefreshURI() string {
	if b.RefreshTokenURI != "" {
		return b.RefreshTokenURI
	}
	return b.TokenURI
}

// envReference matches a whole-field reference to an envVar, as elastic.io's
// component.json files write them: "{{MSAPP_CLIENT_ID}}".
var envReference = regexp.MustCompile(`^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$`)

// EnvReference returns the envVar a field value names ("{{VAR}}"), or "".
func EnvReference(value string) string {
	if m := envReference.FindStringSubmatch(value); m != nil {
		return m[1]
	}
	return ""
}

// readOAuth2 finds the oauth2 block at the top level or under credentials
// (not both: which one counts would be a guess) and validates it.
func readOAuth2(ps *fault.Problems, top map[string]any, envVars []string, global bool) *OAuth2Block {
	topBlock, atTop := top["oauth2"]
	var nested any
	inCredentials := false
	if creds, ok := top["credentials"]; ok {
		obj, isObj := creds.(map[string]any)
		if !isObj {
			ps.Add(fault.InvalidAttribute("descriptor/credentials", "wrong_type", "descriptor.credentials must be an object"))
			return nil
		}
		nested, inCredentials = obj["oauth2"]
	}
	switch {
	case atTop && inCredentials:
		ps.Add(fault.InvalidAttribute("descriptor/credentials/oauth2", "duplicate_oauth2",
			"descriptor has an oauth2 block both at the top level and under credentials; keep one"))
		return nil
	case atTop:
		return checkOAuth2(ps, topBlock, "descriptor/oauth2", envVars, global)
	case inCredentials:
		return checkOAuth2(ps, nested, "descriptor/credentials/oauth2", envVars, global)
	}
	return nil
}

func checkOAuth2(ps *fault.Problems, v any, at string, envVars []string, global bool) *OAuth2Block {
	name := strings.ReplaceAll(at, "/", ".")
	obj, ok := v.(map[string]any)
	if !ok {
		ps.Add(fault.InvalidAttribute(at, "wrong_type", name+" must be an object with client_id, client_secret, auth_uri and token_uri"))
		return nil
	}
	block := &OAuth2Block{Pointer: at, ClientAuth: ClientAuthBody, Scopes: []string{}}
	str := func(field string) (string, bool) {
		raw, present := obj[field]
		if !present {
			return "", false
		}
		s, isStr := raw.(string)
		if !isStr {
			ps.Add(fault.InvalidAttribute(at+"/"+field, "wrong_type", name+"."+field+" must be a string"))
			return "", false
		}
		return s, true
	}
	for _, field := range []string{"client_id", "client_secret"} {
		s, ok := str(field)
		if !ok {
			continue
		}
		ref := EnvReference(s)
		switch {
		case ref != "" && !slices.Contains(envVars, ref):
			ps.Add(fault.InvalidAttribute(at+"/"+field, "undeclared_env_var",
				fmt.Sprintf("%s.%s refers to {{%s}} but descriptor.envVars declares no %s", name, field, ref, ref)))
		case ref == "" && strings.Contains(s, "{{"):
			ps.Add(fault.InvalidAttribute(at+"/"+field, "invalid_env_reference",
				fmt.Sprintf("%s.%s must be empty, a literal, or one whole reference such as {{OAUTH_CLIENT_ID}}", name, field)))
		case field == "client_secret" && global && ref == "" && s != "":
			// The point of tenant OAuth clients (elastic.io's OAuth clients
			// management docs): a component other tenants can see must not
			// carry a secret. A {{VAR}} reference carries none.
			ps.Add(fault.InvalidAttribute(at+"/client_secret", "secret_in_global_component",
				"a global component must not carry "+name+".client_secret; leave it empty and let each tenant define an OAuth client"))
		}
		if field == "client_id" {
			block.ClientID = s
		} else {
			block.ClientSecret = s
		}
	}
	for _, field := range []string{"auth_uri", "token_uri", "refresh_token_uri"} {
		s, ok := str(field)
		if !ok || s == "" {
			continue
		}
		if problem := endpointProblem(s); problem != "" {
			ps.Add(fault.InvalidAttribute(at+"/"+field, "invalid_url", name+"."+field+" "+problem))
			continue
		}
		switch field {
		case "auth_uri":
			block.AuthURI = s
		case "token_uri":
			block.TokenURI = s
		default:
			block.RefreshTokenURI = s
		}
	}
	if s, ok := str("client_auth"); ok {
		switch s {
		case ClientAuthBasic, ClientAuthBody:
			block.ClientAuth = s
		default:
			ps.Add(fault.InvalidAttribute(at+"/client_auth", "invalid_client_auth",
				name+`.client_auth must be "basic" (client credentials in the Authorization header) or "body" (in the form body, the default)`))
		}
	}
	if raw, ok := obj["scopes"]; ok {
		block.Scopes = checkScopes(ps, raw, at+"/scopes")
	}
	return block
}

// checkScopes validates the scopes array: each a scope-token of RFC 6749
// §3.3 (printable ASCII without space, quote or backslash).
func checkScopes(ps *fault.Problems, raw any, at string) []string {
	name := strings.ReplaceAll(at, "/", ".")
	list, ok := raw.([]any)
	if !ok {
		ps.Add(fault.InvalidAttribute(at, "wrong_type", name+` must be an array of strings such as ["openid","offline_access"]`))
		return []string{}
	}
	if len(list) > maxScopes {
		ps.Add(fault.InvalidAttribute(at, "too_many_scopes", fmt.Sprintf("%s holds at most %d scopes", name, maxScopes)))
		return []string{}
	}
	out := make([]string, 0, len(list))
	for i, item := range list {
		s, isStr := item.(string)
		if !isStr || !scopeToken(s) {
			ps.Add(fault.InvalidAttribute(fmt.Sprintf("%s/%d", at, i), "invalid_scope",
				fmt.Sprintf("%s[%d] must be a scope: 1 to %d printable ASCII characters without spaces, quotes or backslashes (RFC 6749 §3.3)", name, i, maxScopeLength)))
			continue
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func scopeToken(s string) bool {
	if s == "" || len(s) > maxScopeLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// endpointProblem says what is wrong with a provider endpoint, or "". An
// endpoint is an absolute URL, https, or http on a loopback host (a
// provider on the same machine, as in development); it has no fragment
// (RFC 6749 §3.1) and no user information (credentials do not belong in a
// URL).
func endpointProblem(s string) string {
	u, err := url.Parse(s)
	switch {
	case len(s) > maxURILength:
		return fmt.Sprintf("must be at most %d characters", maxURILength)
	case err != nil || u.Host == "" || u.Opaque != "":
		return "must be an absolute https URL"
	case u.Scheme == "http" && !loopbackHost(u.Hostname()):
		return "must be https (plain http only on a loopback host such as 127.0.0.1)"
	case u.Scheme != "https" && u.Scheme != "http":
		return "must be an absolute https URL"
	case u.User != nil:
		return "must not carry user information"
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "must not have a fragment (RFC 6749 §3.1)"
	}
	return ""
}

func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
