-- +goose Up
-- Connections: a tenant's account at a third-party provider, connected
-- through the tenant's OAuth client for a component (Nango's connections,
-- elastic.io's auth secrets). Tokens are AES-256-GCM ciphertext bound to
-- the row (tenant, connection, which token) with the id of the master key
-- that sealed them.
CREATE TABLE connections (
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id               uuid NOT NULL,
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- No foreign key: a component owned by another tenant (a global one)
    -- may go with its tenant; the connection then says component_deleted.
    component_id     uuid NOT NULL,
    state            text NOT NULL CHECK (state IN ('pending', 'ready', 'error')),
    error_code       text,
    error_detail     text,
    error_at         timestamptz,
    scopes           jsonb NOT NULL DEFAULT '[]',
    token_key_id     text,
    access_token     bytea,
    refresh_token    bytea,
    token_type       text,
    expires_at       timestamptz,
    -- Transient refresh failures in a row, and the time before which no
    -- new attempt is made (30 s doubling up to 1 h).
    refresh_failures integer NOT NULL DEFAULT 0,
    retry_at         timestamptz,
    refreshed_at     timestamptz,
    connected_at     timestamptz,
    -- The browser dance. The authorize_url's capability and the state sent
    -- to the provider are stored as SHA-256 digests; each is single-use
    -- (cleared when used) and expires. The PKCE verifier is sealed.
    link_digest      bytea,
    link_expires_at  timestamptz,
    state_digest     bytea,
    browser_digest   bytea,
    verifier         bytea,
    verifier_key_id  text,
    state_expires_at timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CHECK ((access_token IS NULL AND refresh_token IS NULL) OR token_key_id IS NOT NULL)
);
CREATE UNIQUE INDEX connections_name_key ON connections (tenant_id, lower(name));
CREATE UNIQUE INDEX connections_link ON connections (link_digest) WHERE link_digest IS NOT NULL;
CREATE UNIQUE INDEX connections_state ON connections (state_digest) WHERE state_digest IS NOT NULL;
-- Lists read an index in page order for each sort and filter.
CREATE INDEX connections_by_created ON connections (tenant_id, created_at, id);
CREATE INDEX connections_by_updated ON connections (tenant_id, updated_at, id);
CREATE INDEX connections_by_name ON connections (tenant_id, name, id);
CREATE INDEX connections_by_component ON connections (tenant_id, component_id, created_at, id);
CREATE INDEX connections_by_state ON connections (tenant_id, state, created_at, id);
-- The refresh-ahead scan: ready connections by token expiry.
CREATE INDEX connections_due ON connections (expires_at) WHERE state = 'ready' AND refresh_token IS NOT NULL;

-- Roles grow with the feature: owner has tenants.* already; admin all but
-- the token; the platform backend reads, connects and takes tokens; viewer
-- reads.
INSERT INTO casbin_rule (ptype, v0, v1, v2) VALUES
    ('p', 'role:admin', '*', 'tenants.connections.get'),
    ('p', 'role:admin', '*', 'tenants.connections.create'),
    ('p', 'role:admin', '*', 'tenants.connections.edit'),
    ('p', 'role:admin', '*', 'tenants.connections.delete'),
    ('p', 'role:platform', '*', 'tenants.connections.get'),
    ('p', 'role:platform', '*', 'tenants.connections.create'),
    ('p', 'role:platform', '*', 'tenants.connections.token'),
    ('p', 'role:viewer', '*', 'tenants.connections.get');

-- +goose Down
DELETE FROM casbin_rule WHERE ptype = 'p' AND v2 LIKE 'tenants.connections.%';
DROP TABLE connections;
