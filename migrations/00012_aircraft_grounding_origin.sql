-- Who grounded an aircraft: a person (`manual`, e.g. for a defect) or the task workflow (`task`:
-- the grounding check, ahead of a confirmed task). Only a task's grounding is released
-- automatically when the aircraft's tasks finish; a manual one stays until a person releases it.
-- Set exactly while the aircraft is grounded. Aircraft already grounded take the origin of their
-- last status change in the audit log (automatic: task), and manual otherwise.

-- +goose Up
CREATE TYPE grounding_origin AS ENUM ('manual', 'task');
ALTER TABLE aircraft ADD COLUMN grounded_by grounding_origin;
UPDATE aircraft a
SET grounded_by = CASE
    WHEN (
        SELECT (l.details ->> 'automatic') = 'true'
        FROM audit_logs l
        WHERE l.org_id = a.org_id AND l.entity_type = 'aircraft' AND l.entity_id = a.id AND l.action = 'state_change'
        ORDER BY l."timestamp" DESC, l.entity_version DESC
        LIMIT 1
    ) THEN 'task'::grounding_origin
    ELSE 'manual'::grounding_origin
END
WHERE a.status = 'grounded';
ALTER TABLE aircraft ADD CONSTRAINT aircraft_grounded_by_while_grounded
    CHECK ((status = 'grounded') = (grounded_by IS NOT NULL));

-- +goose Down
ALTER TABLE aircraft DROP CONSTRAINT aircraft_grounded_by_while_grounded;
ALTER TABLE aircraft DROP COLUMN grounded_by;
DROP TYPE grounding_origin;
