package authserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
)

// ErrNothingToGrant is a consent by a user who holds none of what the
// client asks for: nobody grants a right they lack, so there is nothing to
// approve. Missing names one permission the user lacks.
type ErrNothingToGrant struct{ Missing string }

func (e *ErrNothingToGrant) Error() string {
	return "nothing to grant: the user does not hold " + e.Missing
}

// Consent is what a user's approval grants: the scopes asked for, each
// kept whole when the user holds everything it covers, otherwise cut down
// to the permissions it covers that the user holds (RFC 6749 §3.3 lets the
// server issue less than asked, and the token response's scope says so).
// A user's token is also checked against the user's rights on every use;
// this keeps the consent itself within them, so a client never holds a
// grant wider than the person who gave it. Withheld lists the permissions
// asked for that the user lacks.
type Consent struct {
	Granted  []string
	Withheld []string
}

// ConsentFor works out what userID can grant in tenantID of scopes. It
// fails with ErrNothingToGrant when scopes ask for something and the user
// holds none of it.
func (g *Grants) ConsentFor(tenantID, userID uuid.UUID, scopes []string) (*Consent, error) {
	out := &Consent{Granted: []string{}}
	for _, s := range scopes {
		perms := g.scopes.PermissionsOf(s)
		var held []string
		for _, p := range perms {
			ok, err := g.scopes.Allowed(userID, tenantID, p)
			if err != nil {
				return nil, fmt.Errorf("consent: %w", err)
			}
			if ok {
				held = append(held, p)
			} else if !slices.Contains(out.Withheld, p) {
				out.Withheld = append(out.Withheld, p)
			}
		}
		if len(held) == len(perms) {
			out.Granted = appendNew(out.Granted, s)
			continue
		}
		for _, p := range held {
			if !g.scopes.Covers(out.Granted, p) {
				out.Granted = append(out.Granted, p)
			}
		}
	}
	if len(scopes) > 0 && len(out.Granted) == 0 {
		return nil, &ErrNothingToGrant{Missing: out.Withheld[0]}
	}
	return out, nil
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// IsNothingToGrant reports whether err is an ErrNothingToGrant, and which
// permission it names.
func IsNothingToGrant(err error) (string, bool) {
	var e *ErrNothingToGrant
	if errors.As(err, &e) {
		return e.Missing, true
	}
	return "", false
}

// narrowDeviceScopes applies the approving user's consent to a pending
// device authorization's scopes, in the transaction that approves it.
func (g *Grants) narrowDeviceScopes(ctx context.Context, code string, userID uuid.UUID) error {
	var row struct {
		TenantID uuid.UUID
		Scopes   []string `gorm:"serializer:json"`
	}
	res := g.db.Conn(ctx).Raw(`SELECT tenant_id, scopes FROM device_codes
		WHERE user_code = ? AND status = 'pending' AND expires_at > now() FOR UPDATE`, code).Scan(&row)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrUnknownUserCode
	}
	c, err := g.ConsentFor(row.TenantID, userID, row.Scopes)
	if err != nil {
		return err
	}
	raw, _ := json.Marshal(c.Granted)
	return g.db.Conn(ctx).Exec(`UPDATE device_codes SET scopes = ? WHERE user_code = ? AND status = 'pending'`,
		string(raw), code).Error
}
