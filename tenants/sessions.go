package tenants

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/purge"
)

// ErrSessionEnded: the browser session was signed out, ended by a password
// change, expired, or its user is gone.
var ErrSessionEnded = fmt.Errorf("session ended")

func sessionDigest(id []byte) string {
	sum := sha256.Sum256(id)
	return hex.EncodeToString(sum[:])
}

// StartSession records a browser session of the user (by its random id)
// that lasts until expires, unless ended sooner.
func (s *Service) StartSession(ctx context.Context, userID uuid.UUID, id []byte, expires time.Time) error {
	err := s.store.db.Conn(ctx).Exec(`INSERT INTO browser_sessions (digest, user_id, expires_at) VALUES (?, ?, ?)`,
		sessionDigest(id), userID, expires).Error
	if err != nil {
		return fmt.Errorf("start session: %w", err)
	}
	return nil
}

// SessionUser is the user of the live session id, read together in one
// query: ErrSessionEnded when the session was ended, expired, or belongs
// to another user than userID.
func (s *Service) SessionUser(ctx context.Context, id []byte, userID uuid.UUID) (*User, error) {
	var u User
	res := s.store.db.Conn(ctx).Raw(`SELECT u.* FROM browser_sessions bs JOIN users u ON u.id = bs.user_id
		WHERE bs.digest = ? AND bs.user_id = ? AND bs.expires_at > now()`, sessionDigest(id), userID).Scan(&u)
	if res.Error != nil {
		return nil, fmt.Errorf("session user: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, ErrSessionEnded
	}
	return &u, nil
}

// EndSession ends one session (signing out).
func (s *Service) EndSession(ctx context.Context, id []byte) error {
	if err := s.store.db.Conn(ctx).Exec(`DELETE FROM browser_sessions WHERE digest = ?`, sessionDigest(id)).Error; err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// endSessionsOf ends every session of the user, in the caller's
// transaction (a password change).
func (s *Service) endSessionsOf(ctx context.Context, userID uuid.UUID) error {
	return s.store.db.Conn(ctx).Exec(`DELETE FROM browser_sessions WHERE user_id = ?`, userID).Error
}

// SessionsPurgeTarget is the housekeeping of browser sessions: a row goes
// once its session has expired (a periodic job).
func SessionsPurgeTarget() purge.Target {
	return purge.Target{Name: "browser_sessions", Table: "browser_sessions", Key: "digest", Column: "expires_at"}
}
