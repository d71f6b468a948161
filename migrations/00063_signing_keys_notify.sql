-- +goose Up
-- Every instance caches the signing keys. When one rotates them, or an
-- operator withdraws a key suspected to have leaked (oauthd admin
-- rotate-signing-key -withdraw-old), the others hear of it at commit
-- (NOTIFY oauthd_keys) and, should that be lost, by their poll of the table.
-- +goose StatementBegin
CREATE FUNCTION signing_keys_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('oauthd_keys', '');
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER signing_keys_changed AFTER INSERT OR UPDATE OR DELETE ON signing_keys
    FOR EACH STATEMENT EXECUTE FUNCTION signing_keys_notify();

-- +goose Down
DROP TRIGGER signing_keys_changed ON signing_keys;
DROP FUNCTION signing_keys_notify();
