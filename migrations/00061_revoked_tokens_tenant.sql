-- +goose Up
-- revoked_tokens named its tenant without a foreign key, so a deleted
-- tenant's revoked token ids stayed behind. Nothing but the audit trail may
-- outlive a tenant.
DELETE FROM revoked_tokens r WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = r.tenant_id);
ALTER TABLE revoked_tokens ADD CONSTRAINT revoked_tokens_tenant_id_fkey
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE;

-- +goose Down
ALTER TABLE revoked_tokens DROP CONSTRAINT revoked_tokens_tenant_id_fkey;
