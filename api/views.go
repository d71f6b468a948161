package api

import (
	"encoding/json"
	"time"

	"github.com/google/jsonapi"
)

// The JSON:API views: what each resource looks like on the wire. Secrets
// have no field here except in the one-time views that must carry them.

type tenantView struct {
	ID        string    `jsonapi:"primary,tenant"`
	Name      string    `jsonapi:"attr,name"`
	CreatedAt time.Time `jsonapi:"attr,created_at,rfc3339"`
	UpdatedAt time.Time `jsonapi:"attr,updated_at,rfc3339"`
}

func (v tenantView) JSONAPILinks() *jsonapi.Links {
	return &jsonapi.Links{"self": "/v2/tenants/" + v.ID}
}

type userView struct {
	ID        string    `jsonapi:"primary,user"`
	Email     string    `jsonapi:"attr,email"`
	Superuser bool      `jsonapi:"attr,superuser"`
	Password  bool      `jsonapi:"attr,has_password"`
	CreatedAt time.Time `jsonapi:"attr,created_at,rfc3339"`
	UpdatedAt time.Time `jsonapi:"attr,updated_at,rfc3339"`
}

func (v userView) JSONAPILinks() *jsonapi.Links {
	return &jsonapi.Links{"self": "/v2/users/" + v.ID}
}

type apiKeyView struct {
	ID         string     `jsonapi:"primary,api-key"`
	Name       string     `jsonapi:"attr,name"`
	Hint       string     `jsonapi:"attr,hint"`
	Key        string     `jsonapi:"attr,key,omitempty"` // only in the create response
	CreatedAt  time.Time  `jsonapi:"attr,created_at,rfc3339"`
	LastUsedAt *time.Time `jsonapi:"attr,last_used_at,rfc3339"`
	User       *userRef   `jsonapi:"relation,user"`
}

type userRef struct {
	ID string `jsonapi:"primary,user"`
}

type memberView struct {
	ID          string    `jsonapi:"primary,member"`
	Email       string    `jsonapi:"attr,email"`
	Roles       []string  `jsonapi:"attr,roles"`
	Permissions []string  `jsonapi:"attr,permissions"`
	CreatedAt   time.Time `jsonapi:"attr,created_at,rfc3339"`
	UpdatedAt   time.Time `jsonapi:"attr,updated_at,rfc3339"`
	User        *userRef  `jsonapi:"relation,user"`
	tenantID    string
}

func (v memberView) JSONAPILinks() *jsonapi.Links {
	return &jsonapi.Links{"self": "/v2/tenants/" + v.tenantID + "/members/" + v.ID}
}

type componentView struct {
	ID         string          `jsonapi:"primary,component"`
	Name       string          `jsonapi:"attr,name"`
	Visibility string          `jsonapi:"attr,visibility"`
	Descriptor json.RawMessage `jsonapi:"attr,descriptor"`
	Owned      bool            `jsonapi:"attr,owned"`
	Available  bool            `jsonapi:"attr,available"`
	CreatedAt  time.Time       `jsonapi:"attr,created_at,rfc3339"`
	UpdatedAt  time.Time       `jsonapi:"attr,updated_at,rfc3339"`
	tenantID   string
}

func (v componentView) JSONAPILinks() *jsonapi.Links {
	return &jsonapi.Links{"self": "/v2/tenants/" + v.tenantID + "/components/" + v.ID}
}

type componentRef struct {
	ID string `jsonapi:"primary,component"`
}

type flowView struct {
	ID         string          `jsonapi:"primary,flow"`
	Name       string          `jsonapi:"attr,name"`
	CreatedAt  time.Time       `jsonapi:"attr,created_at,rfc3339"`
	UpdatedAt  time.Time       `jsonapi:"attr,updated_at,rfc3339"`
	Components []*componentRef `jsonapi:"relation,components"`
	tenantID   string
}

func (v flowView) JSONAPILinks() *jsonapi.Links {
	return &jsonapi.Links{"self": "/v2/tenants/" + v.tenantID + "/flows/" + v.ID}
}

type oauthClientView struct {
	ID               string        `jsonapi:"primary,oauth-client"`
	ClientID         string        `jsonapi:"attr,client_id"`
	ClientSecretHint string        `jsonapi:"attr,client_secret_hint"`
	Usable           bool          `jsonapi:"attr,usable"`
	CreatedAt        time.Time     `jsonapi:"attr,created_at,rfc3339"`
	UpdatedAt        time.Time     `jsonapi:"attr,updated_at,rfc3339"`
	Component        *componentRef `jsonapi:"relation,component"`
	tenantID         string
}

func (v oauthClientView) JSONAPILinks() *jsonapi.Links {
	return &jsonapi.Links{"self": "/v2/tenants/" + v.tenantID + "/oauth-clients/" + v.ID}
}

type oauthClientSecretView struct {
	ID           string `jsonapi:"primary,oauth-client-secret"`
	ClientID     string `jsonapi:"attr,client_id"`
	ClientSecret string `jsonapi:"attr,client_secret"`
}

type auditEventView struct {
	ID           string         `jsonapi:"primary,audit-event"`
	Action       string         `jsonapi:"attr,action"`
	ResourceType string         `jsonapi:"attr,resource_type"`
	ResourceID   string         `jsonapi:"attr,resource_id"`
	ActorID      *string        `jsonapi:"attr,actor_id"`
	ActorEmail   string         `jsonapi:"attr,actor_email"`
	ActorClient  string         `jsonapi:"attr,actor_client"`
	RemoteAddr   string         `jsonapi:"attr,remote_addr"`
	RequestID    string         `jsonapi:"attr,request_id"`
	Details      map[string]any `jsonapi:"attr,details"`
	CreatedAt    time.Time      `jsonapi:"attr,created_at,rfc3339"`
}

type apiClientView struct {
	ID              string     `jsonapi:"primary,api-client"`
	ClientID        string     `jsonapi:"attr,client_id"`
	ClientSecret    string     `jsonapi:"attr,client_secret,omitempty"` // only in the create response
	Name            string     `jsonapi:"attr,name"`
	ClientType      string     `jsonapi:"attr,client_type"`
	GrantTypes      []string   `jsonapi:"attr,grant_types"`
	RedirectURIs    []string   `jsonapi:"attr,redirect_uris"`
	Roles           []string   `jsonapi:"attr,roles"`
	Scopes          []string   `jsonapi:"attr,scopes"`
	RequirePKCE     bool       `jsonapi:"attr,require_pkce"`
	AccessTokenTTL  *int       `jsonapi:"attr,access_token_ttl"`
	RefreshTokenTTL *int       `jsonapi:"attr,refresh_token_ttl"`
	Template        string     `jsonapi:"attr,template"`
	CreatedBy       *string    `jsonapi:"attr,created_by"`
	LastUsedAt      *time.Time `jsonapi:"attr,last_used_at,rfc3339"`
	CreatedAt       time.Time  `jsonapi:"attr,created_at,rfc3339"`
	UpdatedAt       time.Time  `jsonapi:"attr,updated_at,rfc3339"`
	tenantID        string
}

func (v apiClientView) JSONAPILinks() *jsonapi.Links {
	return &jsonapi.Links{"self": "/v2/tenants/" + v.tenantID + "/api-clients/" + v.ID}
}

type apiClientSecretView struct {
	ID         string     `jsonapi:"primary,api-client-secret"`
	Secret     string     `jsonapi:"attr,secret,omitempty"` // only in the create response
	Hint       string     `jsonapi:"attr,hint"`
	ExpiresAt  *time.Time `jsonapi:"attr,expires_at,rfc3339"`
	LastUsedAt *time.Time `jsonapi:"attr,last_used_at,rfc3339"`
	CreatedAt  time.Time  `jsonapi:"attr,created_at,rfc3339"`
	path       string
}

func (v apiClientSecretView) JSONAPILinks() *jsonapi.Links {
	return &jsonapi.Links{"self": v.path}
}

type apiClientTemplateView struct {
	ID           string   `jsonapi:"primary,api-client-template"`
	Name         string   `jsonapi:"attr,name"`
	Description  string   `jsonapi:"attr,description"`
	ClientType   string   `jsonapi:"attr,client_type"`
	GrantTypes   []string `jsonapi:"attr,grant_types"`
	RedirectURIs []string `jsonapi:"attr,redirect_uris"`
	Scopes       []string `jsonapi:"attr,scopes"`
	RequirePKCE  bool     `jsonapi:"attr,require_pkce"`
}

type oauthClientRef struct {
	ID string `jsonapi:"primary,oauth-client"`
}

type connectionView struct {
	ID           string          `jsonapi:"primary,connection"`
	Name         string          `jsonapi:"attr,name"`
	State        string          `jsonapi:"attr,state"`
	AuthorizeURL *string         `jsonapi:"attr,authorize_url"` // only in the create and reconnect responses
	Scopes       []string        `jsonapi:"attr,scopes"`
	ExpiresAt    *time.Time      `jsonapi:"attr,expires_at,rfc3339"`
	Error        map[string]any  `jsonapi:"attr,error"`
	CreatedAt    time.Time       `jsonapi:"attr,created_at,rfc3339"`
	UpdatedAt    time.Time       `jsonapi:"attr,updated_at,rfc3339"`
	Component    *componentRef   `jsonapi:"relation,component"`
	OAuthClient  *oauthClientRef `jsonapi:"relation,oauth-client"`
	tenantID     string
}

func (v connectionView) JSONAPILinks() *jsonapi.Links {
	return &jsonapi.Links{"self": "/v2/tenants/" + v.tenantID + "/connections/" + v.ID}
}

type connectionTokenView struct {
	ID          string     `jsonapi:"primary,connection-token"`
	AccessToken string     `jsonapi:"attr,access_token"`
	TokenType   string     `jsonapi:"attr,token_type"`
	ExpiresAt   *time.Time `jsonapi:"attr,expires_at,rfc3339"`
	Scope       string     `jsonapi:"attr,scope"`
}

type componentOAuthConfigView struct {
	ID              string            `jsonapi:"primary,component-oauth-config"`
	ClientID        string            `jsonapi:"attr,client_id"`
	ClientSecret    string            `jsonapi:"attr,client_secret"`
	AuthURI         *string           `jsonapi:"attr,auth_uri"`
	TokenURI        *string           `jsonapi:"attr,token_uri"`
	RefreshTokenURI *string           `jsonapi:"attr,refresh_token_uri"`
	Scopes          []string          `jsonapi:"attr,scopes"`
	ClientAuth      string            `jsonapi:"attr,client_auth"`
	Env             map[string]string `jsonapi:"attr,env"`
}
