-- +goose Up
-- A grant's expires_at moves on every token issued under it (the grant
-- lives as long as its last token, for the purge's sake); no instance's
-- cache holds it (the revocation state reads whether a grant exists and
-- whether it is revoked). So it is bookkeeping like last_used_at: moving
-- it must not NOTIFY oauthd_authz, or every code exchange, refresh and
-- device-code token would empty the basic-auth, credentials and
-- revocation-state caches of every instance. Only the grants table's
-- expires_at is skipped: an API client secret's expires_at decides
-- whether the secret is good.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION oauthd_authz_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bookkeeping text[] := ARRAY['last_used_at', 'updated_at', 'unused_notified_at', 'expiry_warned_days', 'rejected_notified_at'];
BEGIN
    IF TG_TABLE_NAME = 'grants' THEN
        bookkeeping := array_append(bookkeeping, 'expires_at');
    END IF;
    IF TG_OP = 'UPDATE' AND (to_jsonb(OLD) - bookkeeping) = (to_jsonb(NEW) - bookkeeping) THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('oauthd_authz', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION oauthd_authz_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND
       (to_jsonb(OLD) - 'last_used_at' - 'updated_at' - 'unused_notified_at' - 'expiry_warned_days' - 'rejected_notified_at') =
       (to_jsonb(NEW) - 'last_used_at' - 'updated_at' - 'unused_notified_at' - 'expiry_warned_days' - 'rejected_notified_at') THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('oauthd_authz', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
