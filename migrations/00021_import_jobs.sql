-- CSV imports as resumable jobs (issue 14).
--
-- imports: who uploaded (the recorded actor, as commands record theirs: an admin acting for another
-- organization is no user of it, so created_by is only set for a member), the job's lease
-- (locked_by/locked_until, renewed per batch; a replica takes over an expired one), how many
-- times a worker took the job (attempts: past the limit the import fails and is dead-lettered),
-- when the redriver last re-enqueued it, and the file's size. The file is stored uncompressed
-- out of line (STORAGE EXTERNAL) so a worker reads it with substring() in chunks without
-- detoasting the whole value each time.
-- import_rows: `rejected` marks an invalid row that passed validation and was refused at apply;
-- indexes in row order (and per status) for the keyset pages of GET /imports/{id}/rows?status=....

-- +goose Up
ALTER TABLE imports ALTER COLUMN content SET STORAGE EXTERNAL;
ALTER TABLE imports ALTER COLUMN created_by DROP NOT NULL;
ALTER TABLE imports
    ADD COLUMN principal    jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN request_id   uuid,
    ADD COLUMN byte_size    bigint NOT NULL DEFAULT 0,
    ADD COLUMN attempts     integer NOT NULL DEFAULT 0,
    ADD COLUMN locked_by    text,
    ADD COLUMN locked_until timestamptz,
    ADD COLUMN redriven_at  timestamptz,
    ADD CONSTRAINT imports_attempts_non_negative CHECK (attempts >= 0);
CREATE INDEX imports_org_created_id_idx ON imports (org_id, created_at, id);
DROP INDEX imports_org_created_idx;
ALTER TABLE import_rows ADD COLUMN rejected boolean NOT NULL DEFAULT false;
CREATE INDEX import_rows_order_idx ON import_rows (org_id, import_id, row_number, id);
CREATE INDEX import_rows_status_idx ON import_rows (org_id, import_id, status, row_number, id);

-- +goose Down
DROP INDEX import_rows_status_idx;
DROP INDEX import_rows_order_idx;
ALTER TABLE import_rows DROP COLUMN rejected;
CREATE INDEX imports_org_created_idx ON imports (org_id, created_at);
DROP INDEX imports_org_created_id_idx;
ALTER TABLE imports
    DROP CONSTRAINT imports_attempts_non_negative,
    DROP COLUMN redriven_at,
    DROP COLUMN locked_until,
    DROP COLUMN locked_by,
    DROP COLUMN attempts,
    DROP COLUMN byte_size,
    DROP COLUMN request_id,
    DROP COLUMN principal;
DELETE FROM import_rows WHERE import_id IN (SELECT id FROM imports WHERE created_by IS NULL);
DELETE FROM imports WHERE created_by IS NULL;
ALTER TABLE imports ALTER COLUMN created_by SET NOT NULL;
ALTER TABLE imports ALTER COLUMN content SET STORAGE EXTENDED;
