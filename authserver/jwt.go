package authserver

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/bounded"
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
	if sk.es256 != nil {
		token, err := sk.es256.sign(&c)
		if err != nil {
			return "", fmt.Errorf("sign access token: %w", err)
		}
		return token, nil
	}
	return signWithJOSE(sk.signer, c)
}

// signWithJOSE signs c with go-jose's generic signer (RS256 keys).
func signWithJOSE(signer jose.Signer, c AccessClaims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	jws, err := signer.Sign(payload)
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
//
// Verifying an ES256 signature costs more CPU than the rest of a bearer
// request, so a token verified once is remembered (see verifiedTokens):
// later presentations of the very same string skip the signature but not
// the checks that depend on time or on the key still being published.
func (k *Keys) ParseAccessToken(ctx context.Context, token string, issuer string) (*AccessClaims, error) {
	if len(token) > maxTokenLength {
		return nil, invalid("too long")
	}
	sum := sha256.Sum256([]byte(token))
	if c, kid, ok := k.verified.get(sum); ok {
		if _, published := k.published(kid); published {
			if err := c.check(issuer, time.Now().Unix()); err != nil {
				return nil, err
			}
			return &c, nil
		}
	}
	c, kid, err := k.parse(ctx, token, issuer)
	if err != nil {
		return nil, err
	}
	k.verified.add(sum, *c, kid)
	return c, nil
}

// parse verifies token in full; it returns the claims and the signing kid.
func (k *Keys) parse(ctx context.Context, token string, issuer string) (*AccessClaims, string, error) {
	jws, err := jose.ParseSignedCompact(token, verifiable)
	if err != nil {
		return nil, "", invalid("malformed or unsupported algorithm")
	}
	if len(jws.Signatures) != 1 {
		return nil, "", invalid("not one signature")
	}
	header := jws.Signatures[0].Header
	if typ, _ := header.ExtraHeaders[jose.HeaderType].(string); !isAccessTokenType(typ) {
		return nil, "", invalid("typ is not at+jwt")
	}
	sk, ok := k.published(header.KeyID)
	if !ok {
		if sk, ok = k.refreshFor(ctx, header.KeyID); !ok {
			return nil, "", invalid("unknown kid")
		}
	}
	if header.Algorithm != string(sk.alg) {
		return nil, "", invalid("alg does not match the key")
	}
	payload, err := jws.Verify(sk.public.Key)
	if err != nil {
		return nil, "", invalid("bad signature")
	}
	var c AccessClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, "", invalid("malformed claims")
	}
	if err := c.check(issuer, time.Now().Unix()); err != nil {
		return nil, "", err
	}
	return &c, header.KeyID, nil
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

// verifiedTokens remembers access tokens whose signature, header and
// claims this instance has verified, keyed by the SHA-256 of the whole
// compact token (header, payload and signature: any other string, a forged
// signature included, misses and is verified in full). An entry holds the
// claims and the kid; it is used only while that key is still published,
// and exp/nbf are checked again on every use. Revocation is never cached
// here: Grants.Check still runs for every request.
type verifiedTokens struct {
	entries *bounded.Map[[sha256.Size]byte, verifiedToken]
}

type verifiedToken struct {
	claims AccessClaims
	kid    string
}

// verifiedTokensSize bounds the memory: about 1 KiB an entry.
const verifiedTokensSize = 20000

func newVerifiedTokens(limit int) *verifiedTokens {
	return &verifiedTokens{entries: bounded.New[[sha256.Size]byte, verifiedToken](limit)}
}

func (v *verifiedTokens) get(sum [sha256.Size]byte) (AccessClaims, string, bool) {
	e, ok := v.entries.Get(sum)
	v.entries.Stats().Record(ok)
	if !ok {
		return AccessClaims{}, "", false
	}
	c := e.claims
	c.Audience = slices.Clone(c.Audience) // callers own what they get
	return c, e.kid, true
}

func (v *verifiedTokens) add(sum [sha256.Size]byte, c AccessClaims, kid string) {
	c.Audience = slices.Clone(c.Audience)
	v.entries.Put(sum, verifiedToken{claims: c, kid: kid})
}
