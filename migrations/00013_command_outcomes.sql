-- A command's stored result becomes a transport-neutral outcome: the resulting resource view
-- (what GET of the resource shows; NULL when nothing is left, a delete), whether the command
-- changed anything, or the domain error (code, message, details). No HTTP status, header or
-- body bytes any more: each front renders the outcome (REST: amss/api/rest/outcomes.py).
-- `outcome_view` is json, not jsonb: the stored text is exactly the view a synchronous call renders.

-- +goose Up
ALTER TABLE commands
    ADD COLUMN outcome_view json,
    ADD COLUMN outcome_changed boolean,
    ADD COLUMN outcome_error jsonb;
UPDATE commands SET
    outcome_view = CASE WHEN status = 'succeeded' THEN result_body END,
    outcome_changed = CASE
        WHEN status <> 'succeeded' THEN NULL
        WHEN result_headers ? 'X-Status-Changed' THEN (result_headers ->> 'X-Status-Changed')::boolean
        WHEN type = 'program.generate_task' THEN result_status = 201
        ELSE true
    END,
    outcome_error = CASE WHEN status = 'failed' THEN jsonb_build_object(
        'code', coalesce(result_body ->> 'code', 'INTERNAL'),
        'message', coalesce(result_body ->> 'error', 'the command failed unexpectedly'),
        'details', (result_body -> 'details')::jsonb
    ) END
WHERE status <> 'accepted';
ALTER TABLE commands DROP CONSTRAINT commands_terminal_has_result;
ALTER TABLE commands
    DROP COLUMN result_status,
    DROP COLUMN result_body,
    DROP COLUMN result_headers;
ALTER TABLE commands ADD CONSTRAINT commands_terminal_has_result CHECK (
    (status = 'accepted' AND completed_at IS NULL AND outcome_changed IS NULL AND outcome_error IS NULL
        AND outcome_view IS NULL)
    OR (status = 'succeeded' AND completed_at IS NOT NULL AND outcome_changed IS NOT NULL AND outcome_error IS NULL)
    OR (status = 'failed' AND completed_at IS NOT NULL AND outcome_error IS NOT NULL AND outcome_view IS NULL)
);

-- +goose Down
-- the HTTP form of each outcome as REST renders it at this version (statuses frozen here)
ALTER TABLE commands DROP CONSTRAINT commands_terminal_has_result;
ALTER TABLE commands
    ADD COLUMN result_status integer,
    ADD COLUMN result_body json,
    ADD COLUMN result_headers jsonb;
UPDATE commands SET
    result_status = CASE
        WHEN status = 'succeeded' AND type IN ('task.delete', 'aircraft.delete', 'part_item.delete') THEN 204
        WHEN status = 'succeeded' AND outcome_changed
            AND type IN ('task.create', 'compliance.create', 'part_reservation.create', 'program.generate_task')
            THEN 201
        WHEN status = 'succeeded' THEN 200
        ELSE CASE outcome_error ->> 'code'
            WHEN 'VALIDATION_ERROR' THEN 400 WHEN 'UNAUTHORIZED' THEN 401 WHEN 'FORBIDDEN' THEN 403
            WHEN 'NOT_FOUND' THEN 404 WHEN 'PRECONDITION_FAILED' THEN 412 WHEN 'INTERNAL' THEN 500
            WHEN 'UNAVAILABLE' THEN 503 ELSE 409
        END
    END,
    result_body = CASE
        WHEN status = 'succeeded' THEN outcome_view
        ELSE json_build_object(
            'error', outcome_error ->> 'message',
            'code', outcome_error ->> 'code',
            'request_id', coalesce(request_id::text, '')
        )
    END,
    result_headers = CASE
        WHEN status = 'succeeded' AND type = 'aircraft.apply_grounding'
            THEN jsonb_build_object('X-Status-Changed', outcome_changed::text)
        WHEN status = 'succeeded' AND outcome_changed AND type IN ('task.create', 'program.generate_task')
            THEN jsonb_build_object('Location', '/api/v1/maintenance-tasks/' || (outcome_view ->> 'id'))
        WHEN status = 'succeeded' AND type = 'compliance.create'
            THEN jsonb_build_object('Location', '/api/v1/compliance-items/' || (outcome_view ->> 'id'))
        WHEN status = 'succeeded' AND type = 'part_reservation.create'
            THEN jsonb_build_object('Location', '/api/v1/part-reservations/' || (outcome_view ->> 'id'))
    END
WHERE status <> 'accepted';
ALTER TABLE commands
    DROP COLUMN outcome_view,
    DROP COLUMN outcome_changed,
    DROP COLUMN outcome_error;
ALTER TABLE commands ADD CONSTRAINT commands_terminal_has_result CHECK (
    (status = 'accepted' AND completed_at IS NULL)
    OR (status <> 'accepted' AND completed_at IS NOT NULL AND result_status IS NOT NULL)
);
