package connections

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/oauthd/oauthd/components"
	"github.com/oauthd/oauthd/internal/changes"
	"github.com/oauthd/oauthd/internal/fault"
	"github.com/oauthd/oauthd/internal/jobs"
	"github.com/oauthd/oauthd/internal/listing"
	"github.com/oauthd/oauthd/oauthclients"
	"github.com/oauthd/oauthd/tenants"
)

// Transactor runs a function in one database transaction carried by ctx.
type Transactor interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Recorder writes audit events: audit.Log in the caller's transaction,
// audit.Batcher (reads) in a batch soon after.
type Recorder interface {
	Record(ctx context.Context, tenantID uuid.UUID, action, resourceType, resourceID string, details map[string]any) error
}

// Sealer encrypts tokens at rest (the keyring).
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, string)
	Open(ciphertext []byte, keyID string, aad []byte) ([]byte, error)
}

// Components finds a component the tenant can see (components.Service).
type Components interface {
	Component(ctx context.Context, tenantID, id uuid.UUID) (*components.Component, error)
}

// OAuthClients is what this package asks of the tenant OAuth clients
// (oauthclients.Service).
type OAuthClients interface {
	// ForComponent opens the tenant's client for a component, for oauthd's
	// own calls to the provider.
	ForComponent(ctx context.Context, tenantID, componentID uuid.UUID) (*oauthclients.Client, string, error)
	// RevealForComponent does the same for a caller, audited as a reveal.
	RevealForComponent(ctx context.Context, tenantID, componentID uuid.UUID, via string) (*oauthclients.Client, string, error)
}

// Options are the deployment's settings for connections.
type Options struct {
	// Issuer is oauthd's public URL: authorize_url is Issuer/connect/…, and
	// the provider sends the browser back to Issuer/connect/callback.
	Issuer string
	// HTTPClient makes every call to providers (the outbound client:
	// timeouts, size limit, no redirects, no private addresses).
	HTTPClient *http.Client
	// ProviderTimeout bounds one call to a provider (default 15 s).
	ProviderTimeout time.Duration
	// LinkTTL is how long an authorize_url, and then the provider's answer
	// to it, may take (default 10 min).
	LinkTTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Reads records the token reads, which change nothing: the audit
	// trail's batch writer (audit.Batcher). Nil: they are recorded like
	// changes, each in its own statement and commit.
	Reads Recorder
	// MaxProviderCalls bounds the calls to providers in progress on this
	// instance, each holding a database connection (slots.go; default 8,
	// oauthd sets half its pool).
	MaxProviderCalls int
	// Registry receives oauthd_connection_provider_calls (nil: none).
	Registry prometheus.Registerer
}

// Service applies the rules of connections.
type Service struct {
	tx         Transactor
	store      *Store
	components Components
	clients    OAuthClients
	sealer     Sealer
	audit      Recorder
	reads      Recorder // token reads (Options.Reads)
	opts       Options
	// queue runs the refresh-ahead jobs (RegisterJobs).
	queue *jobs.Queue
	// flights merges this instance's concurrent refreshes of one connection
	// into one waiter on the row lock (which serialises instances).
	flights singleflight.Group
	// tokens are connections read for access-token (cache.go); changed
	// empties it when this service commits.
	tokens  *changes.Cache[tokenKey, *Connection]
	changed *changes.Feed
	// slots bound the provider calls in progress (slots.go).
	slots *providerSlots
}

// NewService wires the service.
func NewService(tx Transactor, store *Store, comps Components, clients OAuthClients, sealer Sealer, audit Recorder, o Options) *Service {
	if o.ProviderTimeout <= 0 {
		o.ProviderTimeout = 15 * time.Second
	}
	if o.LinkTTL <= 0 {
		o.LinkTTL = 10 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxProviderCalls <= 0 {
		o.MaxProviderCalls = 8
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	o.Issuer = strings.TrimSuffix(o.Issuer, "/")
	reads := o.Reads
	if reads == nil {
		reads = audit
	}
	tokens, changed := newTokenCache()
	return &Service{tx: changes.BumpAfterCommit(tx, changed), store: store, components: comps, clients: clients, sealer: sealer,
		audit: audit, reads: reads, opts: o, tokens: tokens, changed: changed,
		slots: newProviderSlots(o.MaxProviderCalls, o.Registry)}
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// CallbackPath is where providers send the browser back.
const CallbackPath = "/connect/callback"

// LinkPathPrefix is the path of authorize_url before its capability.
const LinkPathPrefix = "/connect/"

func (s *Service) redirectURI() string { return s.opts.Issuer + CallbackPath }

// The audit actions of connections, one per change: the webhooks turn
// them into events of the same names.
const (
	ActionCreated             = "connection.created"
	ActionReconnectRequested  = "connection.reconnect_requested"
	ActionConnected           = "connection.connected"
	ActionAuthorizationFailed = "connection.authorization_failed"
	ActionRefreshed           = "connection.refreshed"
	ActionRefreshFailed       = "connection.refresh_failed"
	ActionRecovered           = "connection.recovered"
	ActionDisconnected        = "connection.disconnected"
	ActionTokenRead           = "connection.token_read"
	ActionDeleted             = "connection.deleted"
)

const resourceType = "connection"

func (s *Service) record(ctx context.Context, c *Connection, action string, extra map[string]any) error {
	return s.audit.Record(ctx, c.TenantID, action, resourceType, c.ID.String(), recordDetails(c, extra))
}

func recordDetails(c *Connection, extra map[string]any) map[string]any {
	details := map[string]any{"name": c.Name, "component_id": c.ComponentID, "state": c.State}
	for k, v := range extra {
		details[k] = v
	}
	return details
}

// recordRead records a token handed out, through the batch writer: no
// token leaves before its read is queued (or, the queue being full,
// written).
func (s *Service) recordRead(ctx context.Context, c *Connection) error {
	return s.reads.Record(ctx, c.TenantID, ActionTokenRead, resourceType, c.ID.String(), recordDetails(c, nil))
}

// randomToken is 32 random bytes, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func digest(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

// aad binds a sealed value to its connection and its purpose, so a
// ciphertext copied to another row or column does not open.
func aad(c *Connection, what string) []byte {
	return []byte(c.TenantID.String() + "/" + c.ID.String() + "/" + what)
}

// newLink gives c a fresh authorize_url and forgets any dance in progress.
func (s *Service) newLink(c *Connection) {
	token := randomToken()
	exp := s.now().Add(s.opts.LinkTTL)
	c.LinkDigest, c.LinkExpiresAt = digest(token), &exp
	c.StateDigest, c.BrowserDigest, c.Verifier, c.VerifierKeyID, c.StateExpiresAt = nil, nil, nil, nil, nil
	c.AuthorizeURL = s.opts.Issuer + LinkPathPrefix + token
}

// Create adds a pending connection for a component whose tenant has an
// OAuth client, with an authorize_url for the account's owner to open.
func (s *Service) Create(ctx context.Context, tenantID uuid.UUID, in NewConnection) (*Connection, error) {
	var ps fault.Problems
	tenants.ValidateName(&ps, "name", in.Name)
	now := s.now()
	c := &Connection{TenantID: tenantID, ID: uuid.New(), Name: in.Name, State: StatePending, Scopes: []string{},
		CreatedAt: now, UpdatedAt: now}
	componentID, err := s.resolveComponent(ctx, tenantID, in.ComponentID)
	if cps, ok := fault.List(err); ok {
		ps = append(ps, cps...)
	} else if err != nil {
		return nil, err
	}
	if err := ps.Err(); err != nil {
		return nil, err
	}
	d, err := s.descriptor(ctx, tenantID, componentID)
	if err != nil {
		return nil, err
	}
	c.ComponentID, c.Scopes = componentID, d.OAuth2.Scopes
	s.newLink(c)
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.create(ctx, c); err != nil {
			return err
		}
		return s.record(ctx, c, ActionCreated, nil)
	})
	if err != nil {
		return nil, fmt.Errorf("create connection: %w", err)
	}
	created, err := s.store.get(ctx, tenantID, c.ID, false)
	if err != nil {
		return nil, fmt.Errorf("create connection: %w", err)
	}
	created.AuthorizeURL = c.AuthorizeURL
	return created, nil
}

// resolveComponent checks the component relationship: a component the
// tenant can see, that says how to connect accounts, and for which the
// tenant has an OAuth client.
func (s *Service) resolveComponent(ctx context.Context, tenantID uuid.UUID, raw string) (uuid.UUID, error) {
	if raw == "" {
		return uuid.Nil, fault.InvalidRelationship("component", "required", "relationships.component is required")
	}
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		return uuid.Nil, ErrComponentNotFound
	}
	d, err := s.descriptor(ctx, tenantID, id)
	if err != nil {
		return uuid.Nil, err
	}
	if !connectable(d) {
		return uuid.Nil, ErrComponentNotConnectable
	}
	if _, _, err := s.clients.ForComponent(ctx, tenantID, id); errors.Is(err, oauthclients.ErrNotFound) {
		p := ErrOAuthClientRequired.With(fmt.Sprintf(
			"this tenant has no OAuth client for component %s; create one at /v2/tenants/%s/oauth-clients first", id, tenantID))
		p.Relationship = "component"
		return uuid.Nil, p
	} else if err != nil {
		return uuid.Nil, err
	}
	return id, nil
}

// Get finds one connection.
func (s *Service) Get(ctx context.Context, tenantID, id uuid.UUID) (*Connection, error) {
	return s.store.get(ctx, tenantID, id, false)
}

// List returns a page of the tenant's connections.
func (s *Service) List(ctx context.Context, tenantID uuid.UUID, f Filter, p listing.Params) (listing.Page[Connection], error) {
	page, err := s.store.list(ctx, tenantID, f, p)
	if err != nil {
		return page, fmt.Errorf("list connections: %w", err)
	}
	return page, nil
}

// Reconnect gives the connection a new authorize_url (the previous one and
// any dance in progress stop working). The connection keeps its state and
// tokens until the new authorization completes.
func (s *Service) Reconnect(ctx context.Context, tenantID, id uuid.UUID) (*Connection, error) {
	var c *Connection
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if c, err = s.store.get(ctx, tenantID, id, true); err != nil {
			return err
		}
		if _, err := s.providerFor(ctx, tenantID, c.ComponentID); err != nil {
			return reachProblem(err, tenantID, c.ComponentID)
		}
		s.newLink(c)
		c.UpdatedAt = s.now()
		if err := s.store.save(ctx, c); err != nil {
			return err
		}
		return s.record(ctx, c, ActionReconnectRequested, nil)
	})
	if err != nil {
		return nil, fmt.Errorf("reconnect connection: %w", err)
	}
	return c, nil
}

// reachProblem is the answer when the provider cannot be reached any more.
func reachProblem(err error, tenantID, componentID uuid.UUID) error {
	switch {
	case errors.Is(err, errNoClient):
		return ErrOAuthClientRequired.With(fmt.Sprintf(
			"this tenant has no OAuth client for component %s; create one at /v2/tenants/%s/oauth-clients first", componentID, tenantID))
	case errors.Is(err, errNoComponent):
		return fault.New(fault.Conflict, "component_not_connectable",
			fmt.Sprintf("component %s is gone, or its descriptor no longer says useOAuthClient with oauth2.auth_uri and oauth2.token_uri", componentID))
	}
	return err
}

// Delete removes a connection and the tokens it holds.
func (s *Service) Delete(ctx context.Context, tenantID, id uuid.UUID) error {
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		c, err := s.store.get(ctx, tenantID, id, true)
		if err != nil {
			return err
		}
		if err := s.store.delete(ctx, tenantID, id); err != nil {
			return err
		}
		return s.record(ctx, c, ActionDeleted, nil)
	})
	if err != nil {
		return fmt.Errorf("delete connection: %w", err)
	}
	return nil
}

// OAuthClientReleased puts the tenant's connections of a component in state
// error (oauth_client_deleted) and erases their tokens: the OAuth client
// they were issued to is gone. It runs in the caller's transaction (the
// OAuth client's delete or move).
func (s *Service) OAuthClientReleased(ctx context.Context, tenantID, componentID uuid.UUID) error {
	list, err := s.store.forComponent(ctx, tenantID, componentID)
	if err != nil {
		return err
	}
	for i := range list {
		c := &list[i]
		s.fail(c, CodeOAuthClientDeleted, "the tenant's OAuth client for the component was deleted; define one and reconnect")
		if err := s.store.save(ctx, c); err != nil {
			return err
		}
		if err := s.record(ctx, c, ActionDisconnected, map[string]any{"code": CodeOAuthClientDeleted}); err != nil {
			return err
		}
	}
	// The caller's transaction commits later: a read in between may cache
	// the old row again, for at most tokenCacheTTL, as on other instances.
	s.changed.Bump()
	return nil
}

// fail puts c in state error for good: tokens erased, no dance in progress.
func (s *Service) fail(c *Connection, code, detail string) {
	now := s.now()
	c.State, c.ErrorCode, c.ErrorDetail, c.ErrorAt = StateError, &code, &detail, &now
	c.AccessToken, c.RefreshToken, c.TokenKeyID, c.TokenType, c.ExpiresAt = nil, nil, nil, nil, nil
	c.RetryAt, c.RefreshFailures = nil, 0
	c.StateDigest, c.BrowserDigest, c.Verifier, c.VerifierKeyID, c.StateExpiresAt = nil, nil, nil, nil, nil
	c.UpdatedAt = now
}

// OAuthConfig is the legacy envVars link: the tenant's OAuth client for a
// component with the provider's endpoints and the envVars it fills,
// audited as a reveal of the client's secret.
func (s *Service) OAuthConfig(ctx context.Context, tenantID, componentID uuid.UUID) (*OAuthConfig, error) {
	d, err := s.descriptor(ctx, tenantID, componentID)
	if errors.Is(err, ErrComponentNotFound) {
		return nil, components.ErrComponentNotFound
	}
	if errors.Is(err, ErrComponentNotConnectable) {
		return nil, fault.New(fault.Conflict, "invalid_descriptor", "the component's stored descriptor breaks a rule made after it was written; update the descriptor")
	}
	if err != nil {
		return nil, err
	}
	link, p := d.Link()
	if p != nil {
		return nil, fault.New(fault.Conflict, p.Code, p.Detail)
	}
	client, secret, err := s.clients.RevealForComponent(ctx, tenantID, componentID, "oauth-config")
	if errors.Is(err, oauthclients.ErrNotFound) {
		return nil, reachProblem(errNoClient, tenantID, componentID)
	}
	if err != nil {
		return nil, err
	}
	cfg := &OAuthConfig{ComponentID: componentID, ClientID: client.ClientID, ClientSecret: secret, Scopes: []string{},
		ClientAuth: components.ClientAuthBody, Env: link.Env(client.ClientID, secret)}
	if b := d.OAuth2; b != nil {
		cfg.AuthURI, cfg.TokenURI, cfg.RefreshTokenURI, cfg.Scopes, cfg.ClientAuth = b.AuthURI, b.TokenURI, b.RefreshURI(), b.Scopes, b.ClientAuth
	}
	return cfg, nil
}
