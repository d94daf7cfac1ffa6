-- Webhook subscriptions can be paused or deactivated (a receiver answered 410 Gone), and a rotated
-- secret keeps signing, beside the new one, until its overlap ends (API.md: 24 h).

-- +goose Up
ALTER TABLE webhooks ADD COLUMN active boolean NOT NULL DEFAULT true;
ALTER TABLE webhooks ADD COLUMN previous_secret text;
ALTER TABLE webhooks ADD COLUMN previous_secret_expires_at timestamptz;
ALTER TABLE webhooks ADD CONSTRAINT webhooks_previous_secret_is_32_bytes_hex
    CHECK (previous_secret IS NULL OR previous_secret ~ '^[0-9a-f]{64}$');
ALTER TABLE webhooks ADD CONSTRAINT webhooks_previous_secret_has_expiry
    CHECK ((previous_secret IS NULL) = (previous_secret_expires_at IS NULL));
-- the fan-out's lookup: the live subscriptions of one organization
CREATE INDEX webhooks_org_active_idx ON webhooks (org_id) WHERE deleted_at IS NULL AND active;

-- +goose Down
DROP INDEX webhooks_org_active_idx;
ALTER TABLE webhooks DROP CONSTRAINT webhooks_previous_secret_has_expiry;
ALTER TABLE webhooks DROP CONSTRAINT webhooks_previous_secret_is_32_bytes_hex;
ALTER TABLE webhooks DROP COLUMN previous_secret_expires_at;
ALTER TABLE webhooks DROP COLUMN previous_secret;
ALTER TABLE webhooks DROP COLUMN active;
