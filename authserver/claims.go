package authserver

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// AccessClaims are the RFC 9068 claims of an access token plus oauthd's own.
type AccessClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"` // user id for user tokens, client_id for client-credentials tokens
	Audience  []string `json:"aud"` // [issuer]: oauthd's API is the resource
	Expiry    int64    `json:"exp"`
	IssuedAt  int64    `json:"iat"`
	NotBefore int64    `json:"nbf,omitempty"`
	// JTI is a UUIDv7: its embedded millisecond time, read from the
	// database's clock (see dbClock), is what revocation by time (a
	// client's tokens_valid_after) compares, at a finer grain than iat.
	JTI      string `json:"jti"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"` // space-separated
	TenantID string `json:"tid"`
	GrantID  string `json:"gid,omitempty"` // set for tokens from a grant (code, device or refresh chain)
	UserID   string `json:"uid,omitempty"`
}

// UnmarshalJSON accepts "aud" as a single string too, as RFC 7519 allows.
func (c *AccessClaims) UnmarshalJSON(b []byte) error {
	type plain AccessClaims // no methods: no recursion
	var aux struct {
		plain
		Audience json.RawMessage `json:"aud"` // shadows plain.Audience
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return fmt.Errorf("access token claims: %w", err)
	}
	*c = AccessClaims(aux.plain)
	c.Audience = nil
	var one string
	switch {
	case len(aux.Audience) == 0 || string(aux.Audience) == "null":
	case json.Unmarshal(aux.Audience, &one) == nil:
		c.Audience = []string{one}
	default:
		if err := json.Unmarshal(aux.Audience, &c.Audience); err != nil {
			return fmt.Errorf("access token claims: aud: %w", err)
		}
	}
	return nil
}

// HasAudience reports whether aud is one of the token's audiences.
func (c AccessClaims) HasAudience(aud string) bool { return slices.Contains(c.Audience, aud) }

// IssuedAtMillis is the Unix time in milliseconds embedded in the UUIDv7
// jti, or 0 when the jti is not a UUIDv7.
func (c AccessClaims) IssuedAtMillis() int64 {
	id, err := uuid.Parse(c.JTI)
	if err != nil || id.Version() != 7 {
		return 0
	}
	return uuidV7Millis(id)
}

// uuidV7Millis reads the 48-bit big-endian millisecond timestamp that opens
// a UUIDv7 (RFC 9562 §5.7).
func uuidV7Millis(id uuid.UUID) int64 {
	var ms int64
	for _, b := range id[:6] {
		ms = ms<<8 | int64(b)
	}
	return ms
}

// NewJTI returns a fresh UUIDv7 for an access token's jti, stamped now by
// this process's clock (tokens are stamped by the database's: newJTIAt).
func NewJTI() string { return newJTIAt(time.Now()) }

// newJTIAt returns a fresh UUIDv7 whose embedded time is t's millisecond
// (the layout uuidV7Millis reads).
func newJTIAt(t time.Time) string {
	id := uuid.Must(uuid.NewV7())
	ms := t.UnixMilli()
	for i := 5; i >= 0; i-- {
		id[i] = byte(ms)
		ms >>= 8
	}
	return id.String()
}
