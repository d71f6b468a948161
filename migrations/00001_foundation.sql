-- +goose Up
-- Identity: users, API keys, tenants and memberships.
CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    password_hash text,
    superuser     boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- Emails are unique whatever their case.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- API keys are random and high-entropy, so a SHA-256 digest is enough and
-- gives an indexed lookup; the plain key is shown once and never stored.
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL,
    digest       bytea NOT NULL UNIQUE,
    hint         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz
);
CREATE INDEX api_keys_user_id ON api_keys (user_id, created_at);

CREATE TABLE tenants (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX tenants_name_key ON tenants (lower(name));

-- A membership row is what makes a user a member; the roles and single
-- permissions it carries live in casbin_rule as policy.
CREATE TABLE memberships (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_user_id ON memberships (user_id);

-- The table casbin's gorm-adapter reads (its own AutoMigrate is turned off).
CREATE TABLE casbin_rule (
    id    bigserial PRIMARY KEY,
    ptype varchar(100) NOT NULL DEFAULT '',
    v0    varchar(100) NOT NULL DEFAULT '',
    v1    varchar(100) NOT NULL DEFAULT '',
    v2    varchar(100) NOT NULL DEFAULT '',
    v3    varchar(100) NOT NULL DEFAULT '',
    v4    varchar(100) NOT NULL DEFAULT '',
    v5    varchar(100) NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX idx_casbin_rule ON casbin_rule (ptype, v0, v1, v2, v3, v4, v5);

-- Every instance reloads its enforcer when the policy changes.
-- +goose StatementBegin
CREATE FUNCTION casbin_rule_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('oauthd_policy', '');
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER casbin_rule_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON casbin_rule
    FOR EACH STATEMENT EXECUTE FUNCTION casbin_rule_notify();

-- Roles are defined once for all tenants; a role grows when features are added.
INSERT INTO casbin_rule (ptype, v0, v1, v2) VALUES
    ('p', 'role:owner', '*', 'tenants.*'),
    ('p', 'role:admin', '*', 'tenants.oauth_clients.get'),
    ('p', 'role:admin', '*', 'tenants.oauth_clients.create'),
    ('p', 'role:admin', '*', 'tenants.oauth_clients.edit'),
    ('p', 'role:admin', '*', 'tenants.oauth_clients.delete'),
    ('p', 'role:admin', '*', 'tenants.components.*'),
    ('p', 'role:admin', '*', 'tenants.flows.*'),
    ('p', 'role:admin', '*', 'tenants.api_clients.*'),
    ('p', 'role:admin', '*', 'tenants.members.*'),
    ('p', 'role:admin', '*', 'tenants.audit.get'),
    ('p', 'role:developer', '*', 'tenants.oauth_clients.get'),
    ('p', 'role:developer', '*', 'tenants.oauth_clients.create'),
    ('p', 'role:developer', '*', 'tenants.oauth_clients.edit'),
    ('p', 'role:developer', '*', 'tenants.components.*'),
    ('p', 'role:developer', '*', 'tenants.flows.*'),
    ('p', 'role:developer', '*', 'tenants.api_clients.get'),
    ('p', 'role:developer', '*', 'tenants.members.get'),
    ('p', 'role:viewer', '*', 'tenants.oauth_clients.get'),
    ('p', 'role:viewer', '*', 'tenants.components.get'),
    ('p', 'role:viewer', '*', 'tenants.flows.get'),
    ('p', 'role:viewer', '*', 'tenants.api_clients.get'),
    ('p', 'role:viewer', '*', 'tenants.members.get'),
    ('p', 'role:platform', '*', 'tenants.oauth_clients.get'),
    ('p', 'role:platform', '*', 'tenants.oauth_clients.reveal_secret'),
    ('p', 'role:platform', '*', 'tenants.components.get'),
    ('p', 'role:platform', '*', 'tenants.flows.get');

-- Components: a tenant's own, or global (visible to every tenant). Deleting
-- one is soft, so the OAuth clients that name it stay readable.
CREATE TABLE components (
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id               uuid NOT NULL,
    name             text NOT NULL,
    visibility       text NOT NULL CHECK (visibility IN ('tenant', 'global')),
    descriptor       jsonb NOT NULL DEFAULT '{}',
    use_oauth_client boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    deleted_at       timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX components_id_key ON components (id);
CREATE INDEX components_live ON components (tenant_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX components_global ON components (created_at, id) WHERE visibility = 'global' AND deleted_at IS NULL;

CREATE TABLE flows (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         uuid NOT NULL,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX flows_by_created ON flows (tenant_id, created_at, id);

CREATE TABLE flow_components (
    tenant_id           uuid NOT NULL,
    flow_id             uuid NOT NULL,
    position            integer NOT NULL,
    component_tenant_id uuid NOT NULL,
    component_id        uuid NOT NULL,
    PRIMARY KEY (tenant_id, flow_id, component_id),
    UNIQUE (tenant_id, flow_id, position),
    FOREIGN KEY (tenant_id, flow_id) REFERENCES flows (tenant_id, id) ON DELETE CASCADE,
    -- No cascade: a tenant deleted while other tenants' flows use its global
    -- components must fail, not silently edit those flows.
    FOREIGN KEY (component_tenant_id, component_id) REFERENCES components (tenant_id, id)
);
CREATE INDEX flow_components_component ON flow_components (tenant_id, component_id);
CREATE INDEX flow_components_any_tenant ON flow_components (component_id);

-- Tenant OAuth clients (elastic.io's OAuth clients management docs). One per component per tenant is the
-- unique constraint below; the secret is AES-256-GCM ciphertext with the id
-- of the master key that sealed it.
CREATE TABLE oauth_clients (
    tenant_id           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                  uuid NOT NULL,
    component_tenant_id uuid NOT NULL,
    component_id        uuid NOT NULL,
    client_id           text NOT NULL,
    secret_ciphertext   bytea NOT NULL,
    secret_key_id       text NOT NULL,
    secret_hint         text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT oauth_clients_one_per_component UNIQUE (tenant_id, component_id),
    -- No cascade, for the same reason as flow_components.
    FOREIGN KEY (component_tenant_id, component_id) REFERENCES components (tenant_id, id)
);
CREATE INDEX oauth_clients_by_created ON oauth_clients (tenant_id, created_at, id);

-- Who did what to which resource, when and from where. Never holds secrets.
CREATE TABLE audit_events (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    action        text NOT NULL,
    resource_type text NOT NULL,
    resource_id   text NOT NULL,
    actor_id      uuid,
    actor_email   text NOT NULL DEFAULT '',
    remote_addr   text NOT NULL DEFAULT '',
    request_id    text NOT NULL DEFAULT '',
    details       jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_events_by_created ON audit_events (tenant_id, created_at, id);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE oauth_clients;
DROP TABLE flow_components;
DROP TABLE flows;
DROP TABLE components;
DROP TRIGGER casbin_rule_changed ON casbin_rule;
DROP FUNCTION casbin_rule_notify();
DROP TABLE casbin_rule;
DROP TABLE memberships;
DROP TABLE tenants;
DROP TABLE api_keys;
DROP TABLE users;
