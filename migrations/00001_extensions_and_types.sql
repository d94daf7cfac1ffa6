-- Extensions and the enum types of every enum column.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE EXTENSION IF NOT EXISTS citext;

CREATE TYPE user_role AS ENUM ('admin', 'tenant_admin', 'scheduler', 'mechanic', 'auditor');
CREATE TYPE aircraft_status AS ENUM ('operational', 'maintenance', 'grounded');
CREATE TYPE task_type AS ENUM ('inspection', 'repair', 'overhaul');
CREATE TYPE task_state AS ENUM ('scheduled', 'in_progress', 'completed', 'cancelled');
CREATE TYPE part_item_status AS ENUM ('in_stock', 'used', 'disposed');
CREATE TYPE reservation_state AS ENUM ('reserved', 'used', 'released');
CREATE TYPE interval_type AS ENUM ('flight_hours', 'cycles', 'calendar');
CREATE TYPE compliance_result AS ENUM ('pass', 'fail', 'pending');
CREATE TYPE audit_action AS ENUM ('create', 'update', 'delete', 'state_change');
CREATE TYPE webhook_delivery_status AS ENUM ('pending', 'delivered', 'failed');
CREATE TYPE import_type AS ENUM ('aircraft', 'parts', 'programs');
CREATE TYPE import_status AS ENUM ('pending', 'validating', 'applying', 'completed', 'failed');
CREATE TYPE import_row_status AS ENUM ('pending', 'valid', 'invalid', 'applied');
CREATE TYPE command_status AS ENUM ('accepted', 'succeeded', 'failed');

-- +goose Down
DROP TYPE command_status;
DROP TYPE import_row_status;
DROP TYPE import_status;
DROP TYPE import_type;
DROP TYPE webhook_delivery_status;
DROP TYPE audit_action;
DROP TYPE compliance_result;
DROP TYPE interval_type;
DROP TYPE reservation_state;
DROP TYPE part_item_status;
DROP TYPE task_state;
DROP TYPE task_type;
DROP TYPE aircraft_status;
DROP TYPE user_role;
DROP EXTENSION IF EXISTS citext;
DROP EXTENSION IF EXISTS btree_gist;
DROP EXTENSION IF EXISTS pgcrypto;
