-- +goose Up
-- Permission storage scoped by tenant. casbin_rule (the table of Casbin's
-- GORM adapter) had no tenant column and no foreign keys: a member's rows
-- outlived the membership unless every path remembered to delete them, and
-- every instance reloaded the whole table on any change. It becomes two
-- tables that policy's own Casbin adapter reads, and a change log that lets
-- each instance apply only what changed.
--
-- Migrations that change what a role holds write role_permissions
-- (INSERT INTO role_permissions (role, permission) VALUES ('admin', '…')).

-- What each role holds, the same in every tenant (a small reference table).
CREATE TABLE role_permissions (
    role       text NOT NULL CHECK (role <> ''),
    permission text NOT NULL CHECK (permission <> ''),
    PRIMARY KEY (role, permission)
);
INSERT INTO role_permissions (role, permission)
    SELECT substr(v0, length('role:') + 1), v2 FROM casbin_rule
    WHERE ptype = 'p' AND v0 LIKE 'role:%' AND v1 = '*'
    ON CONFLICT DO NOTHING;

-- The roles and single permissions a member holds in a tenant. The rows go
-- with the membership (so with the user) and with the tenant.
CREATE TABLE member_grants (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id   uuid NOT NULL,
    kind      text NOT NULL CHECK (kind IN ('role', 'permission')),
    name      text NOT NULL CHECK (name <> ''),
    PRIMARY KEY (tenant_id, user_id, kind, name),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
INSERT INTO member_grants (tenant_id, user_id, kind, name)
    SELECT m.tenant_id, m.user_id, 'role', substr(r.v1, length('role:') + 1)
    FROM casbin_rule r
    JOIN memberships m ON r.v0 = 'user:' || m.user_id AND r.v2 = 'tenant:' || m.tenant_id
    WHERE r.ptype = 'g' AND r.v1 LIKE 'role:%'
    UNION
    SELECT m.tenant_id, m.user_id, 'permission', r.v2
    FROM casbin_rule r
    JOIN memberships m ON r.v0 = 'user:' || m.user_id AND r.v1 = 'tenant:' || m.tenant_id
    WHERE r.ptype = 'p';

DROP TRIGGER casbin_rule_changed ON casbin_rule;
DROP FUNCTION casbin_rule_notify();
DROP TABLE casbin_rule;

-- The change log every instance polls (and is woken for by NOTIFY
-- oauthd_policy): which member's grants changed, that some tenant was
-- deleted, or that the roles changed. A reader takes the rows committed
-- since its last snapshot (xid not visible in it), which no commit order
-- can make it miss, unlike a sequence. Rows naming a tenant go with it;
-- the rest are purged after an hour.
CREATE TABLE policy_changes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    kind       text NOT NULL CHECK (kind IN ('member', 'tenant_deleted', 'roles')),
    tenant_id  uuid REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'member') = (tenant_id IS NOT NULL AND user_id IS NOT NULL))
);
CREATE INDEX policy_changes_xid ON policy_changes (xid);
CREATE INDEX policy_changes_created_at ON policy_changes (created_at);

-- A member's grants changed: one row per member and statement. During a
-- tenant's deletion its rows are not logged (the tenant is already gone,
-- and the tenant_deleted row covers them).
-- +goose StatementBegin
CREATE FUNCTION member_grants_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO policy_changes (kind, tenant_id, user_id)
            SELECT DISTINCT 'member', o.tenant_id, o.user_id FROM old_rows o
            WHERE EXISTS (SELECT 1 FROM tenants t WHERE t.id = o.tenant_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO policy_changes (kind, tenant_id, user_id)
            SELECT DISTINCT 'member', n.tenant_id, n.user_id FROM new_rows n;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER member_grants_inserted AFTER INSERT ON member_grants
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION member_grants_log();
CREATE TRIGGER member_grants_updated AFTER UPDATE ON member_grants
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION member_grants_log();
CREATE TRIGGER member_grants_deleted AFTER DELETE ON member_grants
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION member_grants_log();

-- A tenant's deletion is logged without naming it: each instance drops the
-- tenants it holds grants for that no longer exist.
-- +goose StatementBegin
CREATE FUNCTION tenants_deleted_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM gone) THEN
        INSERT INTO policy_changes (kind) VALUES ('tenant_deleted');
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER tenants_deleted_policy AFTER DELETE ON tenants
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION tenants_deleted_log();

-- +goose StatementBegin
CREATE FUNCTION role_permissions_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO policy_changes (kind) VALUES ('roles');
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER role_permissions_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON role_permissions
    FOR EACH STATEMENT EXECUTE FUNCTION role_permissions_log();

-- LISTENing instances hear of a change at its commit; the poll is the
-- fallback when the listener's connection is gone.
-- +goose StatementBegin
CREATE FUNCTION policy_changes_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('oauthd_policy', '');
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER policy_changes_notify AFTER INSERT ON policy_changes
    FOR EACH STATEMENT EXECUTE FUNCTION policy_changes_notify();

-- +goose Down
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
INSERT INTO casbin_rule (ptype, v0, v1, v2)
    SELECT 'p', 'role:' || role, '*', permission FROM role_permissions
    UNION ALL
    SELECT 'g', 'user:' || user_id, 'role:' || name, 'tenant:' || tenant_id FROM member_grants WHERE kind = 'role'
    UNION ALL
    SELECT 'p', 'user:' || user_id, 'tenant:' || tenant_id, name FROM member_grants WHERE kind = 'permission';
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
DROP TRIGGER policy_changes_notify ON policy_changes;
DROP FUNCTION policy_changes_notify();
DROP TRIGGER role_permissions_changed ON role_permissions;
DROP FUNCTION role_permissions_log();
DROP TRIGGER tenants_deleted_policy ON tenants;
DROP FUNCTION tenants_deleted_log();
DROP TABLE policy_changes;
DROP TABLE member_grants;
DROP FUNCTION member_grants_log();
DROP TABLE role_permissions;
