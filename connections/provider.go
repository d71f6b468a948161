package connections

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/oauthd/oauthd/components"
	"github.com/oauthd/oauthd/oauthclients"
)

// provider is how to reach the provider of a component with the tenant's
// OAuth client: the descriptor's endpoints and the client's credentials.
type provider struct {
	componentID  uuid.UUID
	block        *components.OAuth2Block
	clientID     string
	clientSecret string
}

// errNoClient and errNoComponent say why a connection's provider cannot be
// reached any more; refreshing turns them into error codes.
var (
	errNoClient    = errors.New("no OAuth client for the component")
	errNoComponent = errors.New("component gone or not connectable")
)

// descriptor reads the component the tenant can see: ErrComponentNotFound
// when there is none.
func (s *Service) descriptor(ctx context.Context, tenantID, componentID uuid.UUID) (components.Descriptor, error) {
	comp, err := s.components.Component(ctx, tenantID, componentID)
	if errors.Is(err, components.ErrComponentNotFound) {
		return components.Descriptor{}, ErrComponentNotFound
	}
	if err != nil {
		return components.Descriptor{}, err
	}
	d, ps := components.ParseDescriptor(comp.Descriptor, comp.Visibility == components.VisibilityGlobal)
	if len(ps) > 0 {
		// Stored descriptors were valid when written; one that no longer is
		// (a rule that came later) cannot be trusted to reach a provider.
		return components.Descriptor{}, ErrComponentNotConnectable
	}
	return d, nil
}

// connectable reports whether the descriptor says how to connect accounts.
func connectable(d components.Descriptor) bool {
	return d.UseOAuthClient && d.OAuth2 != nil && d.OAuth2.AuthURI != "" && d.OAuth2.TokenURI != ""
}

// providerFor assembles the provider of a connection's component with the
// tenant's current OAuth client (so a new secret is used from the next
// call on). errNoComponent or errNoClient when it cannot be reached.
func (s *Service) providerFor(ctx context.Context, tenantID, componentID uuid.UUID) (*provider, error) {
	d, err := s.descriptor(ctx, tenantID, componentID)
	if errors.Is(err, ErrComponentNotFound) || errors.Is(err, ErrComponentNotConnectable) || err == nil && !connectable(d) {
		return nil, errNoComponent
	}
	if err != nil {
		return nil, err
	}
	client, secret, err := s.clients.ForComponent(ctx, tenantID, componentID)
	if errors.Is(err, oauthclients.ErrNotFound) {
		return nil, errNoClient
	}
	if err != nil {
		return nil, err
	}
	return &provider{componentID: componentID, block: d.OAuth2, clientID: client.ClientID, clientSecret: secret}, nil
}

// config is golang.org/x/oauth2's view of the provider. The client
// authentication is the one the descriptor names, never auto-detected:
// detection retries a refused request the other way, which would present
// a rotating refresh token twice.
func (p *provider) config(redirectURI, tokenURL string) *oauth2.Config {
	style := oauth2.AuthStyleInParams
	if p.block.ClientAuth == components.ClientAuthBasic {
		style = oauth2.AuthStyleInHeader
	}
	return &oauth2.Config{
		ClientID: p.clientID, ClientSecret: p.clientSecret, RedirectURL: redirectURI, Scopes: p.block.Scopes,
		Endpoint: oauth2.Endpoint{AuthURL: p.block.AuthURI, TokenURL: tokenURL, AuthStyle: style},
	}
}

// providerError is a failed call to the provider: whether it is for good
// (the grant or the client refused) and the provider's own words, which
// may be shown (they never hold tokens).
type providerError struct {
	permanent bool
	text      string
}

func (e *providerError) Error() string { return e.text }

// Bounds on what the provider's words may add to a connection.
const maxProviderText = 300

// classify turns a token-endpoint failure into a providerError. invalid_grant
// and invalid_client are for good (RFC 6749 §5.2: the refresh token or the
// client is refused); anything else — network, timeout, 5xx, 429, an
// answer that does not parse — is transient.
func classify(err error) *providerError {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		text := fmt.Sprintf("the provider answered HTTP %d", status)
		if re.ErrorCode != "" {
			text += " " + printable(re.ErrorCode)
			if re.ErrorDescription != "" {
				text += ": " + printable(re.ErrorDescription)
			}
		}
		permanent := re.ErrorCode == "invalid_grant" || re.ErrorCode == "invalid_client"
		return &providerError{permanent: permanent, text: clip(text)}
	}
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return &providerError{text: "the provider did not answer in time"}
	}
	var pe *providerError
	if errors.As(err, &pe) {
		return pe
	}
	// Network errors and unreadable answers: say what kind, not the bytes.
	return &providerError{text: clip("the provider could not be reached or its answer could not be read: " + printable(redact(err.Error())))}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// redact keeps the first line of an error text: golang.org/x/oauth2 puts
// the provider's body after it, which may hold anything.
func redact(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// printable keeps a provider's text to printable characters on one line.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, s)
}

func clip(s string) string {
	if len(s) <= maxProviderText {
		return s
	}
	return strings.ToValidUTF8(s[:maxProviderText], "") + "…"
}

// tokenResult is a successful answer of the token endpoint.
type tokenResult struct {
	access, refresh, tokenType, scope string
	expiresAt                         *time.Time
	// previousRefresh is the refresh token presented, kept when the answer
	// brings no new one.
	previousRefresh string
}

// callToken runs one token request (exchange or refresh) with the
// outbound client and the provider timeout.
func (s *Service) callToken(ctx context.Context, fn func(ctx context.Context) (*oauth2.Token, error)) (*tokenResult, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.ProviderTimeout)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.opts.HTTPClient)
	tok, err := fn(ctx)
	if err != nil {
		return nil, classify(err)
	}
	now := s.now()
	r := &tokenResult{access: tok.AccessToken, refresh: tok.RefreshToken, tokenType: tok.TokenType}
	switch {
	case tok.ExpiresIn > 0:
		at := now.Add(time.Duration(tok.ExpiresIn) * time.Second)
		r.expiresAt = &at
	case !tok.Expiry.IsZero():
		at := tok.Expiry
		r.expiresAt = &at
	}
	if sc, ok := tok.Extra("scope").(string); ok {
		r.scope = sc
	}
	if r.tokenType == "" {
		r.tokenType = "Bearer"
	}
	return r, nil
}
