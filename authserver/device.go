package authserver

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/credential"
	"github.com/oauthd/oauthd/internal/database"
)

// userCodeAlphabet has no vowels (no words by accident) and no look-alikes.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// DeviceStart is what /oauth/device_authorization returns (RFC 8628 §3.2).
type DeviceStart struct {
	DeviceCode string
	UserCode   string // XXXX-XXXX
	ExpiresIn  int
	Interval   int
}

func newUserCode() string {
	var b strings.Builder
	for i := 0; i < 8; i++ {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(userCodeAlphabet))))
		b.WriteByte(userCodeAlphabet[n.Int64()])
	}
	return b.String()
}

// FormatUserCode shows a stored code as XXXX-XXXX.
func FormatUserCode(code string) string {
	if len(code) != 8 {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// NormalizeUserCode accepts a typed code in any case, with or without the
// dash or spaces; ok is false when it cannot be a code.
func NormalizeUserCode(in string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(in) {
		switch {
		case r == '-' || r == ' ':
		case strings.ContainsRune(userCodeAlphabet, r):
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	return b.String(), b.Len() == 8
}

// StartDevice begins a device authorization for the client.
func (g *Grants) StartDevice(ctx context.Context, c Client, scopes []string) (*DeviceStart, error) {
	raw, _ := json.Marshal(nonNil(scopes))
	interval := int(g.life.DevicePollInterval.Seconds())
	for attempt := 0; attempt < 5; attempt++ {
		dc, uc := credential.Random("odc_", 32), newUserCode()
		err := g.db.Conn(ctx).Exec(`INSERT INTO device_codes (digest, user_code, tenant_id, client_pk, scopes, poll_interval, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, credential.DigestOf(dc), uc, c.TenantID, c.PK, string(raw), interval, g.now().Add(g.life.DeviceTTL)).Error
		if database.IsUniqueViolation(err, "device_codes_user_code_key") {
			continue // 20^8 codes; a clash with a live one is rare, try another
		}
		if err != nil {
			return nil, fmt.Errorf("store device code: %w", err)
		}
		return &DeviceStart{DeviceCode: dc, UserCode: FormatUserCode(uc), ExpiresIn: int(g.life.DeviceTTL.Seconds()), Interval: interval}, nil
	}
	return nil, fmt.Errorf("store device code: no free user code")
}

// DeviceRequest is a pending device authorization as the approving user sees it.
type DeviceRequest struct {
	UserCode  string
	TenantID  uuid.UUID
	ClientPK  uuid.UUID
	Scopes    []string `gorm:"serializer:json"`
	Status    string
	ExpiresAt time.Time
}

// LookupUserCode finds a pending, unexpired device authorization.
func (g *Grants) LookupUserCode(ctx context.Context, typed string) (*DeviceRequest, error) {
	code, ok := NormalizeUserCode(typed)
	if !ok {
		return nil, ErrUnknownUserCode
	}
	var r DeviceRequest
	res := g.db.Conn(ctx).Raw(`SELECT user_code, tenant_id, client_pk, scopes, status, expires_at FROM device_codes
		WHERE user_code = ? AND status = 'pending' AND expires_at > now()`, code).Scan(&r)
	if res.Error != nil {
		return nil, res.Error
	}
	if res.RowsAffected == 0 {
		return nil, ErrUnknownUserCode
	}
	return &r, nil
}

// DecideDevice records the signed-in user's approval or denial. An
// approval grants what the user can grant of the scopes asked for
// (ConsentFor), never more.
func (g *Grants) DecideDevice(ctx context.Context, typed string, userID uuid.UUID, approve bool) error {
	code, ok := NormalizeUserCode(typed)
	if !ok {
		return ErrUnknownUserCode
	}
	status := "denied"
	if approve {
		status = "approved"
	}
	return g.db.InTx(ctx, func(ctx context.Context) error {
		if approve {
			if err := g.narrowDeviceScopes(ctx, code, userID); err != nil {
				return err
			}
		}
		res := g.db.Conn(ctx).Exec(`UPDATE device_codes SET status = ?, user_id = ?
			WHERE user_code = ? AND status = 'pending' AND expires_at > now()`, status, userID, code)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrUnknownUserCode
		}
		return nil
	})
}

type deviceRow struct {
	TenantID   uuid.UUID
	ClientPK   uuid.UUID
	Scopes     []string `gorm:"serializer:json"`
	Status     string
	UserID     *uuid.UUID
	SlowDown   bool // this poll came within the interval of the previous one
	ExpiresAt  time.Time
	CreatedAt  time.Time
	ValidAfter time.Time // the client's tokens_valid_after, as for codes
}

// slowDownStep is what RFC 8628 §3.5 adds to the interval on every
// slow_down, for that poll and all later ones.
const slowDownStep = 5

// PollDevice answers a device's token request: pending, slow down,
// expired, denied — or, once approved, tokens (once).
func (g *Grants) PollDevice(ctx context.Context, c Client, deviceCode string, withRefresh bool) (*TokenSet, error) {
	dc := credential.DigestOf(deviceCode)
	var row deviceRow
	// Note this poll and read the previous one in one statement, committed
	// whatever the answer (slow_down needs the time of every poll). Whether
	// the poll is too fast is decided here, on the database's clock, so
	// instances with skewed clocks agree; the row lock (FOR UPDATE) makes
	// concurrent polls queue, each seeing the one before it, so none of the
	// interval increases of RFC 8628 §3.5 is lost.
	res := g.db.Conn(ctx).Raw(`UPDATE device_codes d SET last_polled_at = now(),
			poll_interval = CASE WHEN d.status = 'pending' AND prev.slow_down THEN d.poll_interval + ? ELSE d.poll_interval END
		FROM (SELECT tenant_id, digest,
		             (last_polled_at IS NOT NULL AND now() - last_polled_at < make_interval(secs => poll_interval)) AS slow_down
		      FROM device_codes
		      WHERE tenant_id = ? AND client_pk = ? AND digest = ? FOR UPDATE) prev
		WHERE d.tenant_id = prev.tenant_id AND d.digest = prev.digest
		RETURNING d.tenant_id, d.client_pk, d.scopes, d.status, d.user_id, prev.slow_down, d.expires_at,
			d.created_at, (SELECT tokens_valid_after FROM api_clients ac WHERE ac.tenant_id = d.tenant_id AND ac.id = d.client_pk) AS valid_after`,
		slowDownStep, c.TenantID, c.PK, dc).Scan(&row)
	if res.Error != nil {
		return nil, res.Error
	}
	switch {
	case res.RowsAffected == 0:
		return nil, ErrInvalidGrant
	case g.now().After(row.ExpiresAt):
		return nil, ErrExpiredToken
	case row.Status == "denied":
		return nil, ErrAccessDenied
	case row.Status == "used", !row.CreatedAt.After(row.ValidAfter):
		return nil, ErrInvalidGrant
	case row.Status == "pending" && row.SlowDown:
		return nil, ErrSlowDown
	case row.Status == "pending":
		return nil, ErrAuthorizationPending
	}
	var ts *TokenSet
	err := g.db.InTx(ctx, func(ctx context.Context) error {
		// Claim the approval: one conditional UPDATE, so two polls that
		// both saw "approved" cannot both get tokens.
		// A user removed from the tenant (or deleted) since approving
		// gets nothing: the approval stays unclaimed and fails.
		claim := g.db.Conn(ctx).Exec(`UPDATE device_codes d SET status = 'used'
			WHERE tenant_id = ? AND client_pk = ? AND digest = ? AND status = 'approved'
				AND `+isMember("d.tenant_id", "d.user_id"), c.TenantID, c.PK, dc)
		if claim.Error != nil {
			return claim.Error
		}
		if claim.RowsAffected != 1 {
			return ErrInvalidGrant
		}
		grantID, err := g.createGrant(ctx, c, *row.UserID, row.Scopes)
		if err != nil {
			return err
		}
		ts, err = g.issueForGrant(ctx, c, grantID, *row.UserID, row.Scopes, withRefresh)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ts, nil
}
