-- Aircraft, maintenance programs and maintenance tasks, with the no-overlap exclusion constraint.

-- +goose Up
CREATE TABLE aircraft (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id             uuid NOT NULL REFERENCES organizations (id),
    tail_number        text NOT NULL,
    model              text NOT NULL,
    last_maintenance   timestamptz,
    next_due           timestamptz,
    status             aircraft_status NOT NULL DEFAULT 'operational',
    capacity_slots     integer NOT NULL DEFAULT 1,
    flight_hours_total integer NOT NULL DEFAULT 0,
    cycles_total       integer NOT NULL DEFAULT 0,
    version            integer NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    deleted_at         timestamptz,
    CONSTRAINT aircraft_org_id_id_key UNIQUE (org_id, id),
    CONSTRAINT aircraft_next_due_after_last_maintenance CHECK (next_due > last_maintenance),
    CONSTRAINT aircraft_capacity_slots_positive CHECK (capacity_slots > 0),
    CONSTRAINT aircraft_flight_hours_non_negative CHECK (flight_hours_total >= 0),
    CONSTRAINT aircraft_cycles_non_negative CHECK (cycles_total >= 0),
    CONSTRAINT aircraft_tail_number_not_blank CHECK (btrim(tail_number) <> '')
);
CREATE UNIQUE INDEX aircraft_org_tail_number_live_key ON aircraft (org_id, tail_number) WHERE deleted_at IS NULL;

CREATE TABLE maintenance_programs (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id               uuid NOT NULL REFERENCES organizations (id),
    aircraft_id          uuid,
    name                 text NOT NULL,
    interval_type        interval_type NOT NULL,
    interval_value       integer NOT NULL,
    last_performed       timestamptz,
    -- the aircraft counter (flight hours or cycles) when the program was last performed
    last_performed_usage integer,
    version              integer NOT NULL DEFAULT 1,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    deleted_at           timestamptz,
    CONSTRAINT maintenance_programs_org_id_id_key UNIQUE (org_id, id),
    CONSTRAINT maintenance_programs_aircraft_fk FOREIGN KEY (org_id, aircraft_id) REFERENCES aircraft (org_id, id),
    CONSTRAINT maintenance_programs_interval_value_positive CHECK (interval_value > 0),
    CONSTRAINT maintenance_programs_usage_non_negative CHECK (last_performed_usage >= 0),
    CONSTRAINT maintenance_programs_name_not_blank CHECK (btrim(name) <> '')
);
-- a program name is unique per aircraft (templates, with no aircraft, form one group)
CREATE UNIQUE INDEX maintenance_programs_org_name_aircraft_live_key
    ON maintenance_programs (org_id, name, coalesce(aircraft_id, '00000000-0000-0000-0000-000000000000'::uuid))
    WHERE deleted_at IS NULL;
CREATE INDEX maintenance_programs_aircraft_idx ON maintenance_programs (org_id, aircraft_id);

CREATE TABLE maintenance_tasks (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id               uuid NOT NULL REFERENCES organizations (id),
    aircraft_id          uuid NOT NULL,
    program_id           uuid,
    type                 task_type NOT NULL,
    state                task_state NOT NULL DEFAULT 'scheduled',
    start_time           timestamptz NOT NULL,
    end_time             timestamptz NOT NULL,
    assigned_mechanic_id uuid,
    notes                text,
    version              integer NOT NULL DEFAULT 1,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    deleted_at           timestamptz,
    -- only live, active tasks take part in the overlap check; the rest have no window
    active_window        tstzrange GENERATED ALWAYS AS (
        -- start_time < end_time keeps a reversed window from failing here before the check reports it
        CASE WHEN state IN ('scheduled', 'in_progress') AND deleted_at IS NULL AND start_time < end_time
             THEN tstzrange(start_time, end_time, '[)')
             ELSE NULL END
    ) STORED,
    CONSTRAINT maintenance_tasks_org_id_id_key UNIQUE (org_id, id),
    CONSTRAINT maintenance_tasks_aircraft_fk FOREIGN KEY (org_id, aircraft_id) REFERENCES aircraft (org_id, id),
    CONSTRAINT maintenance_tasks_program_fk FOREIGN KEY (org_id, program_id) REFERENCES maintenance_programs (org_id, id),
    CONSTRAINT maintenance_tasks_mechanic_fk FOREIGN KEY (org_id, assigned_mechanic_id) REFERENCES users (org_id, id),
    CONSTRAINT maintenance_tasks_end_after_start CHECK (end_time > start_time),
    CONSTRAINT maintenance_tasks_no_overlap EXCLUDE USING gist (
        org_id WITH =, aircraft_id WITH =, active_window WITH &&
    )
);
CREATE INDEX maintenance_tasks_aircraft_start_idx ON maintenance_tasks (org_id, aircraft_id, start_time);
CREATE INDEX maintenance_tasks_start_idx ON maintenance_tasks (org_id, start_time);
CREATE INDEX maintenance_tasks_state_idx ON maintenance_tasks (org_id, state);
CREATE INDEX maintenance_tasks_program_idx ON maintenance_tasks (org_id, program_id) WHERE program_id IS NOT NULL;
CREATE INDEX maintenance_tasks_mechanic_idx ON maintenance_tasks (org_id, assigned_mechanic_id) WHERE assigned_mechanic_id IS NOT NULL;

-- +goose Down
DROP TABLE maintenance_tasks;
DROP TABLE maintenance_programs;
DROP TABLE aircraft;
