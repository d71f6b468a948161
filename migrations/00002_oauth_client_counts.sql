-- +goose Up
-- meta.total on the OAuth client list must not cost more as a tenant's
-- clients grow (count(*) reads every one of them): keep the count per
-- tenant in a row that a trigger maintains in the same transaction.
CREATE TABLE oauth_client_counts (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    n         bigint NOT NULL CHECK (n >= 0)
);
INSERT INTO oauth_client_counts (tenant_id, n)
    SELECT tenant_id, count(*) FROM oauth_clients GROUP BY tenant_id;

-- +goose StatementBegin
CREATE FUNCTION oauth_client_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO oauth_client_counts (tenant_id, n) VALUES (NEW.tenant_id, 1)
            ON CONFLICT (tenant_id) DO UPDATE SET n = oauth_client_counts.n + 1;
    ELSE
        UPDATE oauth_client_counts SET n = n - 1 WHERE tenant_id = OLD.tenant_id;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER oauth_clients_counted AFTER INSERT OR DELETE ON oauth_clients
    FOR EACH ROW EXECUTE FUNCTION oauth_client_count();

-- +goose Down
DROP TRIGGER oauth_clients_counted ON oauth_clients;
DROP FUNCTION oauth_client_count();
DROP TABLE oauth_client_counts;
