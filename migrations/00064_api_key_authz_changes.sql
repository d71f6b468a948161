-- +goose Up
-- Instances cache a basic-auth caller (the API key, its user and the
-- user's membership of the tenant asked for) for a moment; these triggers
-- tell every instance (NOTIFY oauthd_authz, sent on commit) when one of
-- them changes, as 00011 and 00012 do for clients and tokens: a deleted
-- key, a changed or deleted user (email, superuser flag), a membership
-- that ends or begins. last_used_at and updated_at are bookkeeping and
-- notify nothing (oauthd_authz_changed skips them).
CREATE TRIGGER api_keys_authz_changed AFTER UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION oauthd_authz_changed();
CREATE TRIGGER users_authz_changed AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION oauthd_authz_changed();
CREATE TRIGGER memberships_authz_added AFTER INSERT ON memberships
    FOR EACH ROW EXECUTE FUNCTION oauthd_authz_changed();

-- +goose Down
DROP TRIGGER memberships_authz_added ON memberships;
DROP TRIGGER users_authz_changed ON users;
DROP TRIGGER api_keys_authz_changed ON api_keys;
