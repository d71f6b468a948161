-- +goose Up
-- Webhooks: a tenant's subscriptions to its events, their signing secrets
-- (sealed: deliveries need the secret itself to sign), and the log of
-- every delivery attempt.
CREATE TABLE webhooks (
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              uuid NOT NULL,
    url             text NOT NULL,
    events          jsonb NOT NULL,
    description     text NOT NULL DEFAULT '',
    active          boolean NOT NULL DEFAULT true,
    -- The start of the current run of failed deliveries (null while healthy).
    failing_since   timestamptz,
    -- Why the webhook was switched off by oauthd (null when it was not).
    disabled_reason text,
    disabled_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX webhooks_active ON webhooks (tenant_id) WHERE active;

CREATE TABLE webhook_secrets (
    tenant_id  uuid NOT NULL,
    webhook_id uuid NOT NULL,
    id         uuid NOT NULL,
    sealed     bytea NOT NULL,
    key_id     text NOT NULL,
    hint       text NOT NULL,
    expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, webhook_id) REFERENCES webhooks (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_secrets_by_webhook ON webhook_secrets (tenant_id, webhook_id, created_at);

CREATE TABLE webhook_deliveries (
    tenant_id   uuid NOT NULL,
    webhook_id  uuid NOT NULL,
    id          uuid NOT NULL,
    event_id    uuid NOT NULL,
    event_type  text NOT NULL,
    attempt     integer NOT NULL,
    success     boolean NOT NULL,
    status_code integer,
    error       text,
    duration_ms integer NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, webhook_id) REFERENCES webhooks (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (tenant_id, webhook_id, created_at, id);
CREATE INDEX webhook_deliveries_by_age ON webhook_deliveries (created_at);

-- Owners hold tenants.*; admins get the webhooks too.
INSERT INTO role_permissions (role, permission) VALUES ('admin', 'tenants.webhooks.*');

-- +goose Down
DELETE FROM role_permissions WHERE role = 'admin' AND permission = 'tenants.webhooks.*';
DROP TABLE webhook_deliveries;
DROP TABLE webhook_secrets;
DROP TABLE webhooks;
