-- The outbox publisher's order and claims.
--
-- created_at is the event's time (the transaction's start), not its commit order. `seq` is taken
-- from an identity sequence when the row is inserted, which happens while the unit of work holds
-- the aggregate's row lock; a later change of the same aggregate waits for that lock, so for one
-- aggregate seq follows commit order. The publisher publishes an aggregate's events by seq and
-- never one while an earlier one of the same aggregate is unpublished (held elsewhere, waiting
-- for a retry). `traceparent` carries the request's W3C trace context onto the stream entry.

-- +goose Up
ALTER TABLE outbox_events ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE outbox_events ADD COLUMN traceparent text;
ALTER TABLE outbox_events ADD CONSTRAINT outbox_events_traceparent_length CHECK (char_length(traceparent) <= 128);
-- the publisher's scan: unpublished rows in publish order
CREATE INDEX outbox_events_unpublished_seq_idx ON outbox_events (seq) WHERE processed_at IS NULL;
-- the per-aggregate check: is an earlier event of this aggregate still unpublished?
CREATE INDEX outbox_events_unpublished_aggregate_idx
    ON outbox_events (org_id, aggregate_type, aggregate_id, seq) WHERE processed_at IS NULL;

-- +goose Down
DROP INDEX outbox_events_unpublished_aggregate_idx;
DROP INDEX outbox_events_unpublished_seq_idx;
ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_traceparent_length;
ALTER TABLE outbox_events DROP COLUMN traceparent;
ALTER TABLE outbox_events DROP COLUMN seq;
