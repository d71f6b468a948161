package oauth2

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/authserver"
	"github.com/oauthd/oauthd/policy"
)

// Paths of the endpoints, relative to the issuer.
const (
	PathAuthorize           = "/oauth/authorize"
	PathToken               = "/oauth/token"
	PathDeviceAuthorization = "/oauth/device_authorization"
	PathRevoke              = "/oauth/revoke"
	PathIntrospect          = "/oauth/introspect"
	PathMetadata            = "/.well-known/oauth-authorization-server"
	PathJWKS                = "/.well-known/jwks.json"
)

// PathServiceDocumentation is the page that renders the API's OpenAPI
// description (RFC 8414's service_documentation).
const PathServiceDocumentation = "/docs"

// Metadata is the RFC 8414 authorization server metadata document.
type Metadata struct {
	Issuer                                    string   `json:"issuer"`
	AuthorizationEndpoint                     string   `json:"authorization_endpoint"`
	TokenEndpoint                             string   `json:"token_endpoint"`
	DeviceAuthorizationEndpoint               string   `json:"device_authorization_endpoint"`
	RevocationEndpoint                        string   `json:"revocation_endpoint"`
	IntrospectionEndpoint                     string   `json:"introspection_endpoint"`
	JWKSURI                                   string   `json:"jwks_uri"`
	ScopesSupported                           []string `json:"scopes_supported"`
	ResponseTypesSupported                    []string `json:"response_types_supported"`
	ResponseModesSupported                    []string `json:"response_modes_supported"`
	GrantTypesSupported                       []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported         []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported    []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported             []string `json:"code_challenge_methods_supported"`
	ServiceDocumentation                      string   `json:"service_documentation"`
}

// NewMetadata describes the server whose issuer identifier is issuer. The
// issuer is kept verbatim (it must equal the tokens' iss); endpoint URLs are
// built on it without a doubled slash.
func NewMetadata(issuer string) Metadata {
	base := strings.TrimRight(issuer, "/")
	return Metadata{
		Issuer:                            issuer,
		AuthorizationEndpoint:             base + PathAuthorize,
		TokenEndpoint:                     base + PathToken,
		DeviceAuthorizationEndpoint:       base + PathDeviceAuthorization,
		RevocationEndpoint:                base + PathRevoke,
		IntrospectionEndpoint:             base + PathIntrospect,
		JWKSURI:                           base + PathJWKS,
		ScopesSupported:                   append([]string(nil), policy.Catalogue...),
		ResponseTypesSupported:            []string{"code"},
		ResponseModesSupported:            []string{"query"},
		GrantTypesSupported:               apiclients.GrantTypes(),
		TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post", "none"},
		// Public clients revoke their own tokens naming only client_id
		// (RFC 7009 §2.1); introspection is for confidential clients.
		RevocationEndpointAuthMethodsSupported:    []string{"client_secret_basic", "client_secret_post", "none"},
		IntrospectionEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post"},
		CodeChallengeMethodsSupported:             []string{"S256"},
		ServiceDocumentation:                      base + PathServiceDocumentation,
	}
}

// MetadataHandler serves GET /.well-known/oauth-authorization-server.
func MetadataHandler(issuer string) http.HandlerFunc {
	body, err := json.Marshal(NewMetadata(issuer))
	if err != nil {
		panic("oauth2: metadata does not encode: " + err.Error()) // fixed types: cannot happen
	}
	return func(w http.ResponseWriter, r *http.Request) {
		serveJSON(w, r, "application/json", "public, max-age=3600", body)
	}
}

// JWKSHandler serves GET /.well-known/jwks.json: the public signing keys,
// including the next key before it signs and retired keys until their
// tokens have expired. Verifiers may cache it for 5 minutes; a prepublished
// key is published longer than that before its first token.
func JWKSHandler(keys *authserver.Keys) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := json.Marshal(keys.JWKS())
		if err != nil {
			writeError(w, http.StatusInternalServerError, `{"error":"server_error"}`)
			return
		}
		contentType := "application/json"
		if accepts(parseAccept(r.Header.Values("Accept")), "application/jwk-set+json") {
			contentType = "application/jwk-set+json"
		}
		serveJSON(w, r, contentType, "public, max-age=300", body)
	}
}

// serveJSON writes a cacheable JSON document with a strong ETag, answering
// a matching If-None-Match with 304.
func serveJSON(w http.ResponseWriter, r *http.Request, contentType, cacheControl string, body []byte) {
	h := w.Header()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, `{"error":"invalid_request","error_description":"method not allowed"}`)
		return
	}
	// The representation, not just the body: one document is served
	// under two media types.
	sum := sha256.Sum256(append([]byte(contentType+"\n"), body...))
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	h.Set("Cache-Control", cacheControl)
	h.Set("ETag", etag)
	h.Set("Vary", "Accept")
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

func writeError(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func etagMatches(ifNoneMatch, etag string) bool {
	for _, t := range strings.Split(ifNoneMatch, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
