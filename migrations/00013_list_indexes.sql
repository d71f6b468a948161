-- +goose Up
-- Every sort and filter a list offers is served by an index in the order it
-- pages, so a page costs the same however much the tenant has: OAuth
-- clients by updated_at and client_id (created_at has its own since 00001),
-- and the audit trail, which only grows, by resource and by action.
CREATE INDEX oauth_clients_by_updated ON oauth_clients (tenant_id, updated_at, id);
CREATE INDEX oauth_clients_by_client_id ON oauth_clients (tenant_id, client_id, id);
CREATE INDEX audit_events_by_resource ON audit_events (tenant_id, resource_id, created_at, id);
CREATE INDEX audit_events_by_action ON audit_events (tenant_id, action, created_at, id);

-- +goose Down
DROP INDEX audit_events_by_action;
DROP INDEX audit_events_by_resource;
DROP INDEX oauth_clients_by_client_id;
DROP INDEX oauth_clients_by_updated;
