-- +goose Up
-- The console's "Authorized applications" lists a user's live grants
-- across tenants; grants were only reachable by tenant and id.
CREATE INDEX grants_live_by_user ON grants (user_id) WHERE revoked_at IS NULL;

-- +goose Down
DROP INDEX grants_live_by_user;
