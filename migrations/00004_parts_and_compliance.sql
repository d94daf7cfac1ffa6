-- Part definitions, traceable part items, reservations and compliance items.

-- +goose Up
CREATE TABLE part_definitions (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id     uuid NOT NULL REFERENCES organizations (id),
    name       text NOT NULL,
    category   text NOT NULL DEFAULT '',
    version    integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    CONSTRAINT part_definitions_org_id_id_key UNIQUE (org_id, id),
    CONSTRAINT part_definitions_name_not_blank CHECK (btrim(name) <> '')
);
CREATE UNIQUE INDEX part_definitions_org_name_live_key ON part_definitions (org_id, name) WHERE deleted_at IS NULL;

CREATE TABLE part_items (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id             uuid NOT NULL REFERENCES organizations (id),
    part_definition_id uuid NOT NULL,
    serial_number      text NOT NULL,
    status             part_item_status NOT NULL DEFAULT 'in_stock',
    expiry_date        timestamptz,
    version            integer NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    deleted_at         timestamptz,
    CONSTRAINT part_items_org_id_id_key UNIQUE (org_id, id),
    CONSTRAINT part_items_definition_fk FOREIGN KEY (org_id, part_definition_id) REFERENCES part_definitions (org_id, id),
    CONSTRAINT part_items_serial_number_not_blank CHECK (btrim(serial_number) <> '')
);
CREATE UNIQUE INDEX part_items_org_serial_live_key ON part_items (org_id, serial_number) WHERE deleted_at IS NULL;
CREATE INDEX part_items_definition_idx ON part_items (org_id, part_definition_id);
CREATE INDEX part_items_status_idx ON part_items (org_id, status);
CREATE INDEX part_items_expiry_idx ON part_items (org_id, expiry_date) WHERE expiry_date IS NOT NULL;

CREATE TABLE part_reservations (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id       uuid NOT NULL REFERENCES organizations (id),
    task_id      uuid NOT NULL,
    part_item_id uuid NOT NULL,
    state        reservation_state NOT NULL DEFAULT 'reserved',
    quantity     integer NOT NULL DEFAULT 1,
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT part_reservations_org_id_id_key UNIQUE (org_id, id),
    CONSTRAINT part_reservations_task_fk FOREIGN KEY (org_id, task_id) REFERENCES maintenance_tasks (org_id, id),
    CONSTRAINT part_reservations_part_item_fk FOREIGN KEY (org_id, part_item_id) REFERENCES part_items (org_id, id),
    CONSTRAINT part_reservations_quantity_positive CHECK (quantity > 0)
);
-- at most one active reservation per part item, whatever the locks upstream did
CREATE UNIQUE INDEX part_reservations_one_active_per_item
    ON part_reservations (org_id, part_item_id) WHERE state = 'reserved';
CREATE INDEX part_reservations_task_idx ON part_reservations (org_id, task_id);

CREATE TABLE compliance_items (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id           uuid NOT NULL REFERENCES organizations (id),
    task_id          uuid NOT NULL,
    description      text NOT NULL,
    result           compliance_result NOT NULL DEFAULT 'pending',
    sign_off_user_id uuid,
    sign_off_time    timestamptz,
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    deleted_at       timestamptz,
    CONSTRAINT compliance_items_org_id_id_key UNIQUE (org_id, id),
    CONSTRAINT compliance_items_task_fk FOREIGN KEY (org_id, task_id) REFERENCES maintenance_tasks (org_id, id),
    CONSTRAINT compliance_items_sign_off_user_fk FOREIGN KEY (org_id, sign_off_user_id) REFERENCES users (org_id, id),
    -- the sign-off fields are set together, and a signed item has a definite result
    CONSTRAINT compliance_items_sign_off_complete CHECK ((sign_off_user_id IS NULL) = (sign_off_time IS NULL)),
    CONSTRAINT compliance_items_signed_result_definite CHECK (sign_off_time IS NULL OR result <> 'pending'),
    CONSTRAINT compliance_items_description_not_blank CHECK (btrim(description) <> '')
);
CREATE INDEX compliance_items_task_idx ON compliance_items (org_id, task_id);

-- +goose Down
DROP TABLE compliance_items;
DROP TABLE part_reservations;
DROP TABLE part_items;
DROP TABLE part_definitions;
