-- +goose Up
-- Every audit event is published to the tenant's webhooks from the very
-- transaction that records it (a transactional outbox enforced by the
-- database, at no extra round trip for the request): when the tenant has an
-- active webhook, a webhooks.fan_out job is queued in the tenant's events
-- lane (so events keep commit order). The job maps the action to its event
-- type and finds the subscribed webhooks. Its run_at is the epoch: due at
-- once whatever the workers' clock (tests move it); 25 attempts is the
-- handler's default.
-- +goose StatementBegin
CREATE FUNCTION oauthd_publish_audit_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM webhooks w WHERE w.tenant_id = NEW.tenant_id AND w.active) THEN
        PERFORM oauthd_enqueue_in_lane('webhooks.fan_out',
            jsonb_build_object('tenant_id', NEW.tenant_id, 'audit_event_id', NEW.id),
            'events:' || NEW.tenant_id, 25, 'epoch', now());
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_publish AFTER INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION oauthd_publish_audit_event();

-- +goose Down
DROP TRIGGER audit_events_publish ON audit_events;
DROP FUNCTION oauthd_publish_audit_event();
