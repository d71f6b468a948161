package authserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
)

// ErrInvalidToken is returned (wrapped with the reason, so test with
// errors.Is) for every access token that does not verify.
var ErrInvalidToken = errors.New("invalid access token")

const (
	// accessTokenType is the JWS "typ" of RFC 9068 access tokens.
	accessTokenType = "at+jwt"
	// leeway tolerates clock skew between oauthd instances and resource
	// servers on exp and nbf.
	leeway = 30
	// maxTokenLength bounds what is parsed at all; our tokens are < 1 KiB.
	maxTokenLength = 8 << 10
)

// verifiable are the algorithms oauthd signs with; anything else (none,
// HS*, ...) is refused before any key is looked at.
var verifiable = []jose.SignatureAlgorithm{jose.ES256, jose.RS256}

// SignAccessToken signs c with the active key as a JWS compact token whose
// header is {alg, kid, typ: "at+jwt"}. It never touches the database. iss,
// sub, aud, exp, jti (see NewJTI) and client_id are required; a zero iat is
// set to now.
func (k *Keys) SignAccessToken(c AccessClaims) (string, error) {
	if c.IssuedAt == 0 {
		c.IssuedAt = time.Now().Unix()
	}
	if c.Issuer == "" || c.Subject == "" || len(c.Audience) == 0 || c.Expiry == 0 || c.JTI == "" || c.ClientID == "" {
		return "", errors.New("sign access token: iss, sub, aud, exp, jti and client_id are required")
	}
	sk, err := k.active()
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	jws, err := sk.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return token, nil
}

// ParseAccessToken verifies token and returns its claims: the signature by
// a published key (a kid this instance does not know causes one
// rate-limited reload), the alg of that key, typ at+jwt, iss == issuer, aud
// containing issuer, exp and nbf with 30 s of leeway, and a UUIDv7 jti.
// Revocation is not checked here. Every failure wraps ErrInvalidToken.
func (k *Keys) ParseAccessToken(ctx context.Context, token string, issuer string) (*AccessClaims, error) {
	if len(token) > maxTokenLength {
		return nil, invalid("too long")
	}
	jws, err := jose.ParseSignedCompact(token, verifiable)
	if err != nil {
		return nil, invalid("malformed or unsupported algorithm")
	}
	if len(jws.Signatures) != 1 {
		return nil, invalid("not one signature")
	}
	header := jws.Signatures[0].Header
	if typ, _ := header.ExtraHeaders[jose.HeaderType].(string); !isAccessTokenType(typ) {
		return nil, invalid("typ is not at+jwt")
	}
	sk, ok := k.published(header.KeyID)
	if !ok {
		if sk, ok = k.refreshFor(ctx, header.KeyID); !ok {
			return nil, invalid("unknown kid")
		}
	}
	if header.Algorithm != string(sk.alg) {
		return nil, invalid("alg does not match the key")
	}
	payload, err := jws.Verify(sk.public.Key)
	if err != nil {
		return nil, invalid("bad signature")
	}
	var c AccessClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, invalid("malformed claims")
	}
	if err := c.check(issuer, time.Now().Unix()); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *AccessClaims) check(issuer string, now int64) error {
	switch {
	case c.Issuer != issuer:
		return invalid("wrong iss")
	case !c.HasAudience(issuer):
		return invalid("wrong aud")
	case c.Expiry == 0 || now >= c.Expiry+leeway:
		return invalid("expired")
	case c.NotBefore != 0 && now < c.NotBefore-leeway:
		return invalid("not yet valid")
	case c.Subject == "" || c.ClientID == "":
		return invalid("sub or client_id missing")
	}
	if id, err := uuid.Parse(c.JTI); err != nil || id.Version() != 7 {
		return invalid("jti is not a UUIDv7")
	}
	return nil
}

// isAccessTokenType accepts "at+jwt" and its full media type, in any case
// (RFC 9068 §4, RFC 8725 §3.11).
func isAccessTokenType(typ string) bool {
	typ = strings.ToLower(typ)
	return typ == accessTokenType || typ == "application/"+accessTokenType
}

func invalid(reason string) error { return fmt.Errorf("%w: %s", ErrInvalidToken, reason) }
