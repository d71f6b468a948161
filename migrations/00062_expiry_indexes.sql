-- +goose Up
-- Housekeeping (internal/purge) deletes expired rows in small batches
-- found through an index on the column that says when a row may go, so a
-- run costs what it deletes, not what the tables hold.

-- A grant lives while any token issued under it may: each issue moves
-- expires_at to the later of the access and refresh tokens' expiries.
-- Existing grants get their refresh tokens' last expiry, and a day for
-- the access tokens already out.
ALTER TABLE grants ADD COLUMN expires_at timestamptz NOT NULL DEFAULT now();
UPDATE grants g SET expires_at = GREATEST(now() + interval '1 day',
    (SELECT max(r.expires_at) FROM refresh_tokens r WHERE r.tenant_id = g.tenant_id AND r.grant_id = g.id));

CREATE INDEX grants_expires_at ON grants (expires_at);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);
CREATE INDEX authorization_codes_expires_at ON authorization_codes (expires_at);
CREATE INDEX device_codes_expires_at ON device_codes (expires_at);
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);
-- The audit trail is appended in time order: a BRIN index finds its old
-- end (OAUTHD_AUDIT_RETENTION) for almost nothing per insert.
CREATE INDEX audit_events_created_at ON audit_events USING brin (created_at);

-- +goose Down
DROP INDEX audit_events_created_at;
DROP INDEX revoked_tokens_expires_at;
DROP INDEX device_codes_expires_at;
DROP INDEX authorization_codes_expires_at;
DROP INDEX refresh_tokens_expires_at;
DROP INDEX grants_expires_at;
ALTER TABLE grants DROP COLUMN expires_at;
