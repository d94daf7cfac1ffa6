-- Webhook subscriptions and deliveries, CSV imports, and the command log of the actor mesh.

-- +goose Up
CREATE TABLE webhooks (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id     uuid NOT NULL REFERENCES organizations (id),
    url        text NOT NULL,
    events     text[] NOT NULL,
    secret     text NOT NULL,
    version    integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- a deleted subscription keeps its delivery history
    deleted_at timestamptz,
    CONSTRAINT webhooks_org_id_id_key UNIQUE (org_id, id),
    CONSTRAINT webhooks_url_scheme CHECK (url ~* '^https?://'),
    CONSTRAINT webhooks_events_not_empty CHECK (cardinality(events) > 0),
    CONSTRAINT webhooks_secret_is_32_bytes_hex CHECK (secret ~ '^[0-9a-f]{64}$')
);
CREATE INDEX webhooks_org_idx ON webhooks (org_id) WHERE deleted_at IS NULL;

CREATE TABLE webhook_deliveries (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id             uuid NOT NULL REFERENCES organizations (id),
    webhook_id         uuid NOT NULL,
    event_id           uuid NOT NULL,
    attempt_count      integer NOT NULL DEFAULT 0,
    last_error         text,
    next_attempt_at    timestamptz NOT NULL DEFAULT now(),
    status             webhook_delivery_status NOT NULL DEFAULT 'pending',
    last_response_code integer,
    last_response_body text,
    locked_at          timestamptz,
    locked_by          text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_deliveries_org_id_id_key UNIQUE (org_id, id),
    CONSTRAINT webhook_deliveries_webhook_fk FOREIGN KEY (org_id, webhook_id) REFERENCES webhooks (org_id, id),
    CONSTRAINT webhook_deliveries_event_fk FOREIGN KEY (org_id, event_id) REFERENCES outbox_events (org_id, id),
    CONSTRAINT webhook_deliveries_once_per_event UNIQUE (org_id, webhook_id, event_id),
    CONSTRAINT webhook_deliveries_attempts_non_negative CHECK (attempt_count >= 0),
    CONSTRAINT webhook_deliveries_response_body_limited CHECK (char_length(last_response_body) <= 2048)
);
CREATE INDEX webhook_deliveries_org_next_attempt_idx ON webhook_deliveries (org_id, next_attempt_at);
-- the dispatcher's scan across organizations touches only pending rows
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';

CREATE TABLE imports (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id     uuid NOT NULL REFERENCES organizations (id),
    type       import_type NOT NULL,
    status     import_status NOT NULL DEFAULT 'pending',
    file_name  text NOT NULL,
    -- the uploaded bytes, kept in the database so any worker can resume the import
    content    bytea NOT NULL,
    created_by uuid NOT NULL,
    summary    jsonb NOT NULL DEFAULT '{}'::jsonb,
    error      text,
    version    integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT imports_org_id_id_key UNIQUE (org_id, id),
    CONSTRAINT imports_created_by_fk FOREIGN KEY (org_id, created_by) REFERENCES users (org_id, id),
    CONSTRAINT imports_summary_is_object CHECK (jsonb_typeof(summary) = 'object')
);
CREATE INDEX imports_org_created_idx ON imports (org_id, created_at);
CREATE INDEX imports_unfinished_idx ON imports (updated_at) WHERE status IN ('pending', 'validating', 'applying');

CREATE TABLE import_rows (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id     uuid NOT NULL REFERENCES organizations (id),
    import_id  uuid NOT NULL,
    row_number integer NOT NULL,
    raw        jsonb NOT NULL,
    status     import_row_status NOT NULL DEFAULT 'pending',
    errors     jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT import_rows_import_fk FOREIGN KEY (org_id, import_id) REFERENCES imports (org_id, id),
    CONSTRAINT import_rows_import_row_number_key UNIQUE (org_id, import_id, row_number),
    CONSTRAINT import_rows_row_number_positive CHECK (row_number > 0),
    CONSTRAINT import_rows_errors_is_array CHECK (jsonb_typeof(errors) = 'array')
);

CREATE TABLE commands (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id          uuid NOT NULL REFERENCES organizations (id),
    actor           text NOT NULL,
    type            text NOT NULL,
    payload         jsonb NOT NULL,
    principal       jsonb NOT NULL,
    request_id      uuid,
    -- the reply stream of the API process that waits for the result
    reply_to        text,
    status          command_status NOT NULL DEFAULT 'accepted',
    delivery_count  integer NOT NULL DEFAULT 0,
    result_status   integer,
    -- json, not jsonb: the stored text is exactly the body the synchronous call returned
    result_body     json,
    -- headers of that response that a client needs again (Location)
    result_headers  jsonb,
    error           text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    CONSTRAINT commands_org_id_id_key UNIQUE (org_id, id),
    CONSTRAINT commands_actor_format CHECK (actor ~ '^(aircraft|part):[0-9a-f-]{36}:[0-9a-f-]{36}$'),
    CONSTRAINT commands_terminal_has_result CHECK (
        (status = 'accepted' AND completed_at IS NULL)
        OR (status <> 'accepted' AND completed_at IS NOT NULL AND result_status IS NOT NULL)
    ),
    CONSTRAINT commands_delivery_count_non_negative CHECK (delivery_count >= 0)
);
CREATE INDEX commands_accepted_idx ON commands (created_at) WHERE status = 'accepted';
CREATE INDEX commands_org_created_idx ON commands (org_id, created_at);

-- +goose Down
DROP TABLE commands;
DROP TABLE import_rows;
DROP TABLE imports;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
