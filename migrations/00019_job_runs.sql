-- Each periodic job's last successful run (the worker's JobRunner, amss/jobs/runner.py). A worker
-- reads it at start and runs at once every job with a schedule tick since its last success, so a
-- worker restarted more often than a job's schedule (the 6-hourly program generator) still runs it
-- when due. A failed run leaves the mark where it was. Not tenant data: one row per job name.

-- +goose Up
CREATE TABLE job_runs (
    job text PRIMARY KEY CHECK (job <> '' AND length(job) <= 200),
    last_success_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE job_runs;
