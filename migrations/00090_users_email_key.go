package migrations

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"github.com/pressly/goose/v3"

	"github.com/oauthd/oauthd/internal/emailkey"
)

// usersEmailKey moves "one user per email, whatever its case" from the
// database's lower() (which folds as the server's locale does: ASCII only
// under the C locale) to users.email_key, the key emailkey.Of computes in
// Go, under the unique index users_email_key. It is a Go migration because
// the fold is Go's.
//
// Existing rows are backfilled oldest first. Where two users' emails fold
// to one key (possible only if the old index let them in, e.g. ÉVA@x.test
// and éva@x.test under the C locale), the oldest user keeps the key and
// the later ones are left with email_key NULL: nothing is deleted, they
// keep their memberships, API keys (basic auth still works, the key
// names them) and id, but no lookup by email finds them (sign-in, "add
// member by email", the admin commands) until their email is changed to
// one of its own. Each such user is logged at WARN as the migration runs,
// and stays listed by
//
//	SELECT id, email FROM users WHERE email_key IS NULL;
//
// Failing the migration instead would stop every instance from starting
// until someone edits the table by hand; keeping the oldest keeps the
// address with the user who had it first.
func usersEmailKey() *goose.Migration {
	return goose.NewGoMigration(90,
		&goose.GoFunc{RunTx: usersEmailKeyUp},
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `DROP INDEX users_email_key;
ALTER TABLE users DROP COLUMN email_key;
CREATE UNIQUE INDEX users_email_key ON users (lower(email));`)
			return err
		}})
}

// backfillBatch is how many users one UPDATE gives keys to.
const backfillBatch = 1000

func usersEmailKeyUp(ctx context.Context, tx *sql.Tx) error {
	// ALTER TABLE holds the table until commit, so no user is added or
	// renamed between the read and the new index.
	if _, err := tx.ExecContext(ctx, `ALTER TABLE users ADD COLUMN email_key text`); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, email FROM users ORDER BY created_at, id`)
	if err != nil {
		return err
	}
	owner := map[string]string{} // key -> email of the user who keeps it
	var ids []uuid.UUID
	var keys []string
	type collision struct {
		id           uuid.UUID
		email, first string
	}
	var collisions []collision
	for rows.Next() {
		var id uuid.UUID
		var email string
		if err := rows.Scan(&id, &email); err != nil {
			_ = rows.Close()
			return err
		}
		k := emailkey.Of(email)
		if first, taken := owner[k]; taken {
			collisions = append(collisions, collision{id, email, first})
			continue
		}
		owner[k] = email
		ids, keys = append(ids, id), append(keys, k)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for start := 0; start < len(ids); start += backfillBatch {
		end := min(start+backfillBatch, len(ids))
		idText := make([]string, 0, end-start)
		for _, id := range ids[start:end] {
			idText = append(idText, id.String())
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users u SET email_key = v.k
FROM unnest($1::uuid[], $2::text[]) AS v(id, k) WHERE u.id = v.id`,
			idText, keys[start:end]); err != nil {
			return fmt.Errorf("backfill users.email_key: %w", err)
		}
	}
	for _, c := range collisions {
		slog.Default().WarnContext(ctx, "migration 00090: this user's email is one with an older user's under case folding; "+
			"the older user keeps it, this one is found by id and API key only until its email is changed",
			"user_id", c.id, "email", c.email, "older_users_email", c.first)
	}
	_, err = tx.ExecContext(ctx, `DROP INDEX users_email_key;
CREATE UNIQUE INDEX users_email_key ON users (email_key);
COMMENT ON COLUMN users.email_key IS
  'emailkey.Of(email): NFC, Unicode case folding, NFC; NULL for a user whose email folded to an older user''s when migration 00090 ran';`)
	return err
}
