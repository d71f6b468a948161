-- +goose Up
-- A user's access token is good only while the user is a member of the
-- token's tenant (authserver's Check reads memberships). Instances cache
-- that answer for a moment, so ending a membership must tell every instance
-- (NOTIFY oauthd_authz, sent on commit), as the triggers of 00011 do for
-- clients, grants and revoked tokens. Deleting a user or a tenant deletes
-- its memberships by cascade, which fires this trigger too. A new
-- membership revokes nothing, so inserts do not notify.
CREATE TRIGGER memberships_authz_changed AFTER DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION oauthd_authz_changed();

-- +goose Down
DROP TRIGGER memberships_authz_changed ON memberships;
