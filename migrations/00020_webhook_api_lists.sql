-- The Webhooks API's lists (amss/infra/postgres/webhooks_repo.py), each filter and sort served by an
-- index (tests/integration/api/test_list_plans.py):
--   * webhooks of an organization by created_at, updated_at or url, and filtered by active;
--   * a webhook's deliveries, newest first, filtered by status or by event type.
-- A delivery's event type is the outbox event's, copied onto the delivery by a trigger as the row is
-- made or its event_id changes (whatever the statement says, so it cannot disagree with the event), so
-- the type filter is an index range of webhook_deliveries alone rather than a join that reads every
-- delivery of the webhook.
-- In one transaction, not CONCURRENTLY: nothing wrote these tables before this release.

-- +goose Up
ALTER TABLE webhook_deliveries ADD COLUMN event_type text;
UPDATE webhook_deliveries d SET event_type = e.event_type
    FROM outbox_events e WHERE e.org_id = d.org_id AND e.id = d.event_id;
-- no NOT NULL: the trigger finds the event of every row the foreign key lets in, and a row whose event
-- is missing (or of another organization) must fail on that foreign key, not on a null event type

-- +goose StatementBegin
CREATE FUNCTION webhook_deliveries_event_type() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    SELECT e.event_type INTO NEW.event_type FROM outbox_events e WHERE e.org_id = NEW.org_id AND e.id = NEW.event_id;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER webhook_deliveries_event_type
    BEFORE INSERT OR UPDATE OF event_id, event_type ON webhook_deliveries
    FOR EACH ROW EXECUTE FUNCTION webhook_deliveries_event_type();
ALTER TABLE webhook_deliveries ENABLE ALWAYS TRIGGER webhook_deliveries_event_type;

CREATE INDEX webhooks_org_created_idx ON webhooks (org_id, created_at, id);
CREATE INDEX webhooks_org_updated_idx ON webhooks (org_id, updated_at, id);
CREATE INDEX webhooks_org_url_idx ON webhooks (org_id, url, id);
CREATE INDEX webhooks_org_active_created_idx ON webhooks (org_id, active, created_at, id);
CREATE INDEX webhook_deliveries_webhook_created_idx ON webhook_deliveries (org_id, webhook_id, created_at, id);
CREATE INDEX webhook_deliveries_webhook_status_created_idx
    ON webhook_deliveries (org_id, webhook_id, status, created_at, id);
-- the type before the webhook: both are pinned by `=`, and so a status filter never mistakes this
-- index for one that serves it (two equally shaped indexes tie in the planner's estimates)
CREATE INDEX webhook_deliveries_webhook_type_created_idx
    ON webhook_deliveries (org_id, event_type, webhook_id, created_at, id);

-- +goose Down
DROP INDEX webhook_deliveries_webhook_type_created_idx;
DROP INDEX webhook_deliveries_webhook_status_created_idx;
DROP INDEX webhook_deliveries_webhook_created_idx;
DROP INDEX webhooks_org_active_created_idx;
DROP INDEX webhooks_org_url_idx;
DROP INDEX webhooks_org_updated_idx;
DROP INDEX webhooks_org_created_idx;
DROP TRIGGER webhook_deliveries_event_type ON webhook_deliveries;
DROP FUNCTION webhook_deliveries_event_type();
ALTER TABLE webhook_deliveries DROP COLUMN event_type;
