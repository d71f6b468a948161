package authserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sync"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/oauthd/oauthd/internal/jsonw"
)

// es256Signer signs access tokens with one P-256 key without go-jose's
// generic signer, which builds and serializes the protected header and
// converts the signature through math/big for every token: the header,
// {"alg":"ES256","kid":…,"typ":"at+jwt"}, is encoded once per key, the
// claims are written by hand (appendClaims), and the ASN.1 signature of
// ecdsa.SignASN1 becomes JWS's fixed-width r||s (RFC 7518 §3.4) by
// copying bytes. What it signs verifies with go-jose and any JOSE library,
// as the tests check.
type es256Signer struct {
	key    *ecdsa.PrivateKey
	prefix string // the encoded header and its dot
}

func newES256Signer(kid string, key *ecdsa.PrivateKey) (*es256Signer, error) {
	if key.Curve != elliptic.P256() {
		return nil, errors.New("ES256 needs a P-256 key")
	}
	header, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{"ES256", kid, accessTokenType})
	if err != nil {
		return nil, err
	}
	return &es256Signer{key: key, prefix: base64.RawURLEncoding.EncodeToString(header) + "."}, nil
}

// claimsBuffers hold the claims' JSON while it is encoded into the token.
var claimsBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// sign returns the compact JWS of c.
func (s *es256Signer) sign(c *AccessClaims) (string, error) {
	bp := claimsBuffers.Get().(*[]byte)
	payload := appendClaims((*bp)[:0], c)
	enc := base64.RawURLEncoding
	out := make([]byte, 0, len(s.prefix)+enc.EncodedLen(len(payload))+1+enc.EncodedLen(64))
	out = append(out, s.prefix...)
	out = enc.AppendEncode(out, payload)
	*bp = payload
	claimsBuffers.Put(bp)
	digest := sha256.Sum256(out)
	der, err := ecdsa.SignASN1(rand.Reader, s.key, digest[:])
	if err != nil {
		return "", err
	}
	var sig [64]byte
	if !rawSignature(der, &sig) {
		return "", errors.New("ES256: unexpected signature encoding")
	}
	out = append(out, '.')
	out = enc.AppendEncode(out, sig[:])
	return string(out), nil
}

// rawSignature writes the ASN.1 ECDSA-Sig-Value {r, s} (RFC 3279) as r
// and s, each big-endian and left-padded to 32 bytes.
func rawSignature(der []byte, out *[64]byte) bool {
	var seq, r, s cryptobyte.String
	in := cryptobyte.String(der)
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1(&r, asn1.INTEGER) || !seq.ReadASN1(&s, asn1.INTEGER) || !seq.Empty() {
		return false
	}
	return fixed32(r, out[:32]) && fixed32(s, out[32:])
}

// fixed32 copies a positive DER INTEGER into 32 bytes.
func fixed32(n []byte, out []byte) bool {
	for len(n) > 0 && n[0] == 0 {
		n = n[1:]
	}
	if len(n) == 0 || len(n) > 32 {
		return false
	}
	copy(out[32-len(n):], n)
	return true
}

// appendClaims writes c as encoding/json writes AccessClaims: the same
// members in the same order, nbf, gid and uid left out when empty.
func appendClaims(dst []byte, c *AccessClaims) []byte {
	o := jsonw.Open(dst)
	o.String("iss", c.Issuer)
	o.String("sub", c.Subject)
	if c.Audience == nil {
		o.Key("aud")
		o.Buf = append(o.Buf, "null"...)
	} else {
		o.Strings("aud", c.Audience)
	}
	o.Int("exp", c.Expiry)
	o.Int("iat", c.IssuedAt)
	if c.NotBefore != 0 {
		o.Int("nbf", c.NotBefore)
	}
	o.String("jti", c.JTI)
	o.String("client_id", c.ClientID)
	o.String("scope", c.Scope)
	o.String("tid", c.TenantID)
	if c.GrantID != "" {
		o.String("gid", c.GrantID)
	}
	if c.UserID != "" {
		o.String("uid", c.UserID)
	}
	return o.Close()
}
