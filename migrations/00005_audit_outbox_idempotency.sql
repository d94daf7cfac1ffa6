-- Audit log, transactional outbox and idempotency keys.

-- +goose Up
CREATE TABLE audit_logs (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id         uuid NOT NULL REFERENCES organizations (id),
    entity_type    text NOT NULL,
    entity_id      uuid NOT NULL,
    action         audit_action NOT NULL,
    -- null when the actor is not a user of this organization (an admin acting for it, a job);
    -- details.actor then says who acted
    user_id        uuid,
    request_id     uuid,
    ip_address     text,
    user_agent     text,
    entity_version integer NOT NULL DEFAULT 0,
    "timestamp"    timestamptz NOT NULL DEFAULT now(),
    details        jsonb NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT audit_logs_user_fk FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id),
    CONSTRAINT audit_logs_details_is_object CHECK (jsonb_typeof(details) = 'object')
);
CREATE INDEX audit_logs_org_time_idx ON audit_logs (org_id, "timestamp", id);
CREATE INDEX audit_logs_entity_idx ON audit_logs (org_id, entity_type, entity_id, "timestamp");
CREATE INDEX audit_logs_user_idx ON audit_logs (org_id, user_id, "timestamp") WHERE user_id IS NOT NULL;

CREATE TABLE outbox_events (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id          uuid NOT NULL REFERENCES organizations (id),
    aggregate_type  text NOT NULL,
    aggregate_id    uuid NOT NULL,
    event_type      text NOT NULL,
    payload         jsonb NOT NULL,
    dedupe_key      text NOT NULL,
    attempt_count   integer NOT NULL DEFAULT 0,
    last_error      text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_at       timestamptz,
    locked_by       text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    processed_at    timestamptz,
    -- set together with processed_at when the event went to the DLQ instead of the stream
    failed_at       timestamptz,
    CONSTRAINT outbox_events_org_id_id_key UNIQUE (org_id, id),
    CONSTRAINT outbox_events_org_dedupe_key UNIQUE (org_id, dedupe_key),
    CONSTRAINT outbox_events_attempts_non_negative CHECK (attempt_count >= 0),
    CONSTRAINT outbox_events_failed_is_processed CHECK (failed_at IS NULL OR processed_at IS NOT NULL)
);
CREATE INDEX outbox_events_org_processed_idx ON outbox_events (org_id, processed_at NULLS FIRST);
CREATE INDEX outbox_events_org_next_attempt_idx ON outbox_events (org_id, next_attempt_at);
-- the poller's scan across organizations touches only unprocessed rows
CREATE INDEX outbox_events_pending_idx ON outbox_events (next_attempt_at, created_at) WHERE processed_at IS NULL;

CREATE TABLE idempotency_keys (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id           uuid NOT NULL REFERENCES organizations (id),
    key              text NOT NULL,
    endpoint         text NOT NULL,
    request_hash     text NOT NULL,
    -- status_code 0 marks the placeholder of a request still running
    status_code      integer NOT NULL DEFAULT 0,
    response_body    jsonb,
    -- the exact bytes and headers sent, so that a replay is byte for byte the same
    response_raw     bytea,
    response_headers jsonb,
    -- a placeholder whose request died is taken over once this has passed
    lease_expires_at timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL DEFAULT now() + interval '24 hours',
    CONSTRAINT idempotency_keys_org_key_endpoint_key UNIQUE (org_id, key, endpoint),
    CONSTRAINT idempotency_keys_key_length CHECK (char_length(key) BETWEEN 1 AND 255),
    CONSTRAINT idempotency_keys_status_code_range CHECK (status_code = 0 OR status_code BETWEEN 100 AND 599)
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE outbox_events;
DROP TABLE audit_logs;
