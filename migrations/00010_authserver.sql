-- +goose Up
-- The authorization-server half: API clients and the grants and tokens
-- issued to them. Every tenant-owned table carries tenant_id in its key.

-- API clients call this platform's own API with tokens from /oauth/token.
-- client_id is public and globally unique (it arrives alone at the token
-- endpoint). tokens_valid_after is moved forward by revoke-tokens: an
-- access token issued before it fails everywhere at once.
CREATE TABLE api_clients (
    tenant_id                 uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                        uuid NOT NULL,
    client_id                 text NOT NULL,
    name                      text NOT NULL,
    client_type               text NOT NULL CHECK (client_type IN ('confidential', 'public')),
    grant_types               jsonb NOT NULL DEFAULT '[]',
    redirect_uris             jsonb NOT NULL DEFAULT '[]',
    roles                     jsonb NOT NULL DEFAULT '[]',
    scopes                    jsonb NOT NULL DEFAULT '[]',
    require_pkce              boolean NOT NULL DEFAULT false,
    access_token_ttl_seconds  integer,
    refresh_token_ttl_seconds integer,
    template                  text NOT NULL DEFAULT '',
    -- Clients outlive their creator: no foreign key to users.
    created_by                uuid,
    tokens_valid_after        timestamptz NOT NULL DEFAULT 'epoch',
    last_used_at              timestamptz,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX api_clients_client_id_key ON api_clients (client_id);
CREATE INDEX api_clients_by_created ON api_clients (tenant_id, created_at, id);

-- Several secrets may be active at once (rotation without downtime). Only a
-- bcrypt hash is kept; the secret is shown once.
CREATE TABLE api_client_secrets (
    tenant_id    uuid NOT NULL,
    client_pk    uuid NOT NULL,
    id           uuid NOT NULL,
    hash         text NOT NULL,
    hint         text NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, client_pk) REFERENCES api_clients (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX api_client_secrets_client ON api_client_secrets (tenant_id, client_pk, created_at);

-- Signing keys: the private key sealed by the keyring, the public JWK in
-- clear for the JWKS. A key signs from activates_at until retires_at and is
-- published until expires_at (after the last token it signed expired).
CREATE TABLE signing_keys (
    kid                text PRIMARY KEY,
    algorithm          text NOT NULL,
    private_ciphertext bytea NOT NULL,
    sealed_with        text NOT NULL,
    public_jwk         jsonb NOT NULL,
    activates_at       timestamptz NOT NULL DEFAULT now(),
    retires_at         timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now()
);

-- A grant is what one authorization produced (a client-credentials token has
-- none; an authorization code or device approval starts one, and every
-- refresh token in its chain belongs to it). Revoking it revokes every
-- token of the chain, including the newest.
CREATE TABLE grants (
    tenant_id  uuid NOT NULL,
    id         uuid NOT NULL,
    client_pk  uuid NOT NULL,
    user_id    uuid,
    scopes     jsonb NOT NULL DEFAULT '[]',
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, client_pk) REFERENCES api_clients (tenant_id, id) ON DELETE CASCADE
);

-- Refresh tokens are opaque; only their SHA-256 digest is stored. used_at
-- makes each one single-use; presenting a used one revokes its grant.
CREATE TABLE refresh_tokens (
    tenant_id  uuid NOT NULL,
    digest     bytea NOT NULL,
    grant_id   uuid NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, digest),
    FOREIGN KEY (tenant_id, grant_id) REFERENCES grants (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (tenant_id, grant_id);

-- Authorization codes: single-use, short-lived, bound to the client, the
-- redirect URI and the PKCE challenge. grant_id records what a code issued,
-- so a replayed code can revoke it.
CREATE TABLE authorization_codes (
    tenant_id             uuid NOT NULL,
    digest                bytea NOT NULL,
    client_pk             uuid NOT NULL,
    user_id               uuid NOT NULL,
    redirect_uri          text NOT NULL,
    scopes                jsonb NOT NULL DEFAULT '[]',
    code_challenge        text NOT NULL DEFAULT '',
    expires_at            timestamptz NOT NULL,
    used_at               timestamptz,
    grant_id              uuid,
    created_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, digest),
    FOREIGN KEY (tenant_id, client_pk) REFERENCES api_clients (tenant_id, id) ON DELETE CASCADE
);

-- Device authorization (RFC 8628).
-- user_code is unique across tenants: a person types it on /device with
-- nothing else to say which tenant it belongs to.
CREATE TABLE device_codes (
    tenant_id      uuid NOT NULL,
    digest         bytea NOT NULL,
    user_code      text NOT NULL UNIQUE,
    client_pk      uuid NOT NULL,
    scopes         jsonb NOT NULL DEFAULT '[]',
    status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'used')),
    user_id        uuid,
    poll_interval  integer NOT NULL,
    last_polled_at timestamptz,
    expires_at     timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, digest),
    FOREIGN KEY (tenant_id, client_pk) REFERENCES api_clients (tenant_id, id) ON DELETE CASCADE
);

-- Access tokens revoked one by one (RFC 7009), kept until they would have
-- expired anyway.
CREATE TABLE revoked_tokens (
    tenant_id  uuid NOT NULL,
    jti        uuid NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, jti)
);

-- Audit events name the API client when the caller used an access token.
ALTER TABLE audit_events ADD COLUMN actor_client text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_events DROP COLUMN actor_client;
DROP TABLE revoked_tokens;
DROP TABLE device_codes;
DROP TABLE authorization_codes;
DROP TABLE refresh_tokens;
DROP TABLE grants;
DROP TABLE signing_keys;
DROP TABLE api_client_secrets;
DROP TABLE api_clients;
