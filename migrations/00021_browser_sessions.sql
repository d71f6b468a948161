-- +goose Up
-- Browser sessions of the sign-in pages and the console. The signed cookie
-- still says who is signed in; this row says the session is still alive,
-- so signing out ends it, a password change or the user's deletion ends
-- all of the user's, and every instance sees it at once (each visit reads
-- the row). Only a digest (hex SHA-256) of the session id is kept.
CREATE TABLE browser_sessions (
    digest     text PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX browser_sessions_user_id ON browser_sessions (user_id);
CREATE INDEX browser_sessions_expires_at ON browser_sessions (expires_at);

-- +goose Down
DROP TABLE browser_sessions;
