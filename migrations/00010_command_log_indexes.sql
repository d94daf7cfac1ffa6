-- The command log is read by id (the executor's lock, GET /api/v1/commands/{id}, which also
-- checks org_id on the row it finds) and by the redriver (accepted rows, through the partial
-- index). Nothing references (org_id, id) and nothing reads by (org_id, created_at), yet each of
-- those two indexes cost every command two more index insertions: one when it is accepted and
-- one when its result is stored (that update cannot be HOT: status is in an index predicate).

-- +goose Up
ALTER TABLE commands DROP CONSTRAINT commands_org_id_id_key;
DROP INDEX commands_org_created_idx;

-- +goose Down
CREATE INDEX commands_org_created_idx ON commands (org_id, created_at);
ALTER TABLE commands ADD CONSTRAINT commands_org_id_id_key UNIQUE (org_id, id);
