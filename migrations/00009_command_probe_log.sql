-- What diagnostic commands (AMSS_DIAGNOSTIC_COMMANDS=on: mesh tests and `amss bench mesh`) record:
-- one row per execution, so order, overlap and exactly-once can be checked with SQL.

-- +goose Up
CREATE TABLE command_probe_log (
    command_id  uuid PRIMARY KEY,
    actor       text NOT NULL,
    seq         bigint NOT NULL,
    worker_id   text NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX command_probe_log_actor_idx ON command_probe_log (actor, started_at);

-- +goose Down
DROP TABLE command_probe_log;
