-- Organizations, their policies, users and refresh tokens.

-- +goose Up
CREATE TABLE organizations (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL,
    version    integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    CONSTRAINT organizations_name_key UNIQUE (name),
    CONSTRAINT organizations_name_not_blank CHECK (btrim(name) <> '')
);

CREATE TABLE org_policies (
    org_id                        uuid PRIMARY KEY REFERENCES organizations (id),
    retention_interval            interval NOT NULL DEFAULT interval '365 days',
    max_webhook_attempts          integer NOT NULL DEFAULT 10,
    webhook_replay_window_seconds integer NOT NULL DEFAULT 300,
    api_rate_limit_per_min        integer NOT NULL DEFAULT 100,
    api_key_rate_limit_per_min    integer NOT NULL DEFAULT 10,
    version                       integer NOT NULL DEFAULT 1,
    created_at                    timestamptz NOT NULL DEFAULT now(),
    updated_at                    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT org_policies_retention_positive CHECK (retention_interval >= interval '1 day'),
    CONSTRAINT org_policies_webhook_attempts_range CHECK (max_webhook_attempts BETWEEN 1 AND 100),
    CONSTRAINT org_policies_replay_window_range CHECK (webhook_replay_window_seconds BETWEEN 1 AND 86400),
    CONSTRAINT org_policies_api_rate_range CHECK (api_rate_limit_per_min BETWEEN 1 AND 1000000),
    CONSTRAINT org_policies_api_key_rate_range CHECK (api_key_rate_limit_per_min BETWEEN 1 AND 1000000)
);

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id        uuid NOT NULL REFERENCES organizations (id),
    email         citext NOT NULL,
    role          user_role NOT NULL,
    password_hash text NOT NULL,
    last_login    timestamptz,
    version       integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    CONSTRAINT users_org_id_id_key UNIQUE (org_id, id),
    CONSTRAINT users_email_not_blank CHECK (btrim(email::text) <> '')
);
CREATE UNIQUE INDEX users_org_email_live_key ON users (org_id, email) WHERE deleted_at IS NULL;
CREATE INDEX users_email_idx ON users (email) WHERE deleted_at IS NULL;

CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id      uuid NOT NULL REFERENCES organizations (id),
    user_id     uuid NOT NULL,
    family_id   uuid NOT NULL,
    token_hash  bytea NOT NULL,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz,
    replaced_by uuid REFERENCES refresh_tokens (id),
    ip_address  text,
    user_agent  text,
    CONSTRAINT refresh_tokens_user_fk FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id),
    CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT refresh_tokens_hash_is_sha256 CHECK (octet_length(token_hash) = 32),
    CONSTRAINT refresh_tokens_expiry_after_issue CHECK (expires_at > issued_at)
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (org_id, user_id);

-- +goose Down
DROP TABLE refresh_tokens;
DROP TABLE users;
DROP TABLE org_policies;
DROP TABLE organizations;
