-- +goose Up
-- Instances cache API-client credentials and token revocation state for a
-- moment; these triggers tell every instance (NOTIFY oauthd_authz, sent on
-- commit) when something that decides whether a credential or token is good
-- has changed. Bookkeeping columns (last_used_at, updated_at) do not count,
-- or every use of a client would flush every cache.
-- +goose StatementBegin
CREATE FUNCTION oauthd_authz_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND
       (to_jsonb(OLD) - 'last_used_at' - 'updated_at') = (to_jsonb(NEW) - 'last_used_at' - 'updated_at') THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('oauthd_authz', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER api_clients_authz_changed AFTER UPDATE OR DELETE ON api_clients
    FOR EACH ROW EXECUTE FUNCTION oauthd_authz_changed();
CREATE TRIGGER api_client_secrets_authz_changed AFTER INSERT OR UPDATE OR DELETE ON api_client_secrets
    FOR EACH ROW EXECUTE FUNCTION oauthd_authz_changed();
CREATE TRIGGER grants_authz_changed AFTER UPDATE OR DELETE ON grants
    FOR EACH ROW EXECUTE FUNCTION oauthd_authz_changed();
CREATE TRIGGER revoked_tokens_authz_changed AFTER INSERT ON revoked_tokens
    FOR EACH ROW EXECUTE FUNCTION oauthd_authz_changed();

-- +goose Down
DROP TRIGGER revoked_tokens_authz_changed ON revoked_tokens;
DROP TRIGGER grants_authz_changed ON grants;
DROP TRIGGER api_client_secrets_authz_changed ON api_client_secrets;
DROP TRIGGER api_clients_authz_changed ON api_clients;
DROP FUNCTION oauthd_authz_changed();
