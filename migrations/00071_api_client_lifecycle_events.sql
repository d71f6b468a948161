-- +goose Up
-- What the API-client lifecycle events need: a keyed fingerprint of each
-- secret (HMAC-SHA256; set for secrets created from now on) so that a
-- deleted or expired secret presented at the token endpoint is recognised
-- with one indexed lookup instead of bcrypt runs; the secrets deleted
-- (their fingerprint only, kept 90 days); and when each warning went out,
-- so each fires once.
ALTER TABLE api_client_secrets
    ADD COLUMN fingerprint bytea,
    ADD COLUMN expiry_warned_days integer,
    ADD COLUMN rejected_notified_at timestamptz;
CREATE INDEX api_client_secrets_fingerprint ON api_client_secrets (tenant_id, client_pk, fingerprint)
    WHERE fingerprint IS NOT NULL;
CREATE INDEX api_client_secrets_expiring ON api_client_secrets (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE api_client_retired_secrets (
    tenant_id            uuid NOT NULL,
    client_pk            uuid NOT NULL,
    id                   uuid NOT NULL,
    fingerprint          bytea NOT NULL,
    hint                 text NOT NULL,
    deleted_at           timestamptz NOT NULL DEFAULT now(),
    rejected_notified_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, client_pk) REFERENCES api_clients (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX api_client_retired_secrets_fingerprint ON api_client_retired_secrets (tenant_id, client_pk, fingerprint);
CREATE INDEX api_client_retired_secrets_age ON api_client_retired_secrets (deleted_at);

ALTER TABLE api_clients ADD COLUMN unused_notified_at timestamptz;
CREATE INDEX api_clients_idle_since ON api_clients ((coalesce(last_used_at, created_at)));

-- These columns are bookkeeping too: a warning sent must not flush every
-- instance's credentials cache.
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

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION oauthd_authz_changed() RETURNS trigger LANGUAGE plpgsql AS $$
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
DROP INDEX api_clients_idle_since;
ALTER TABLE api_clients DROP COLUMN unused_notified_at;
DROP TABLE api_client_retired_secrets;
DROP INDEX api_client_secrets_expiring;
DROP INDEX api_client_secrets_fingerprint;
ALTER TABLE api_client_secrets DROP COLUMN fingerprint, DROP COLUMN expiry_warned_days, DROP COLUMN rejected_notified_at;
