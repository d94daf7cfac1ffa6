-- Per-category rate limit overrides (auth, read, write, import, export) of api_rate_limit_per_min.

-- +goose Up
ALTER TABLE org_policies
    ADD COLUMN rate_limits jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD CONSTRAINT org_policies_rate_limits_is_object CHECK (jsonb_typeof(rate_limits) = 'object');

-- +goose Down
ALTER TABLE org_policies DROP COLUMN rate_limits;
