-- One index per list order and per list filter, decided from the statements the repositories issue
-- (amss/infra/postgres/listing.py: WHERE org_id = $1 [AND deleted_at IS NULL] AND <filters>
-- [AND (sort, id) > cursor] ORDER BY sort, id LIMIT n+1) and checked by
-- tests/integration/test_list_plans.py:
--   * every sort of a list: (org_id, sort column, id), so a page is a range read of the index in
--     order, with no Sort node, whatever the page number;
--   * every filter: an index led by (org_id, filter column); where the filter is selective or
--     skewed at airline scale (tasks by aircraft, state, type; audit rows by entity, type, user,
--     action; part items, reservations, compliance items) it is followed by the list's default
--     sort, so the filtered default page is an ordered index range too;
--   * maintenance tasks of one aircraft in one state ((org_id, aircraft_id, state, start_time, id)):
--     the aircraft's scheduled tasks no longer hide behind its thousands of completed ones;
--   * the grounding check's confirmed scheduled tasks by start time (partial).
-- Replaced, because a wider index now serves every statement they served: the tasks' (org_id,
-- start_time), (org_id, aircraft_id, start_time), (org_id, state); part items' (org_id,
-- part_definition_id), (org_id, status); reservations' and compliance items' (org_id, task_id);
-- audit rows' (org_id, entity_type, entity_id, timestamp) (useless without entity_type) and
-- (org_id, user_id, timestamp). Dropped, because nothing reads it: the tasks' (org_id,
-- assigned_mechanic_id) (no statement looks tasks up by mechanic; the users it references are
-- only ever soft-deleted).
-- Built CONCURRENTLY (these tables hold millions of rows in a big organization), so outside a
-- transaction; each build is preceded by a DROP IF EXISTS so that a rerun after a failed build
-- replaces the INVALID index it left behind.

-- +goose NO TRANSACTION

-- +goose Up
DROP INDEX CONCURRENTLY IF EXISTS organizations_created_idx;
CREATE INDEX CONCURRENTLY organizations_created_idx ON organizations (created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS organizations_updated_idx;
CREATE INDEX CONCURRENTLY organizations_updated_idx ON organizations (updated_at, id);
DROP INDEX CONCURRENTLY IF EXISTS organizations_name_idx;
CREATE INDEX CONCURRENTLY organizations_name_idx ON organizations (name, id);
DROP INDEX CONCURRENTLY IF EXISTS users_org_created_idx;
CREATE INDEX CONCURRENTLY users_org_created_idx ON users (org_id, created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS users_org_updated_idx;
CREATE INDEX CONCURRENTLY users_org_updated_idx ON users (org_id, updated_at, id);
DROP INDEX CONCURRENTLY IF EXISTS users_org_email_idx;
CREATE INDEX CONCURRENTLY users_org_email_idx ON users (org_id, email, id);
DROP INDEX CONCURRENTLY IF EXISTS users_org_role_idx;
CREATE INDEX CONCURRENTLY users_org_role_idx ON users (org_id, role, id);
DROP INDEX CONCURRENTLY IF EXISTS aircraft_org_created_idx;
CREATE INDEX CONCURRENTLY aircraft_org_created_idx ON aircraft (org_id, created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS aircraft_org_updated_idx;
CREATE INDEX CONCURRENTLY aircraft_org_updated_idx ON aircraft (org_id, updated_at, id);
DROP INDEX CONCURRENTLY IF EXISTS aircraft_org_tail_number_idx;
CREATE INDEX CONCURRENTLY aircraft_org_tail_number_idx ON aircraft (org_id, tail_number, id);
DROP INDEX CONCURRENTLY IF EXISTS aircraft_org_model_idx;
CREATE INDEX CONCURRENTLY aircraft_org_model_idx ON aircraft (org_id, model, id);
DROP INDEX CONCURRENTLY IF EXISTS aircraft_org_status_created_idx;
CREATE INDEX CONCURRENTLY aircraft_org_status_created_idx ON aircraft (org_id, status, created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS maintenance_programs_org_created_idx;
CREATE INDEX CONCURRENTLY maintenance_programs_org_created_idx ON maintenance_programs (org_id, created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS maintenance_programs_org_updated_idx;
CREATE INDEX CONCURRENTLY maintenance_programs_org_updated_idx ON maintenance_programs (org_id, updated_at, id);
DROP INDEX CONCURRENTLY IF EXISTS maintenance_programs_org_name_idx;
CREATE INDEX CONCURRENTLY maintenance_programs_org_name_idx ON maintenance_programs (org_id, name, id);
DROP INDEX CONCURRENTLY IF EXISTS maintenance_programs_org_interval_created_idx;
CREATE INDEX CONCURRENTLY maintenance_programs_org_interval_created_idx ON maintenance_programs (org_id, interval_type, created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_org_start_idx;
CREATE INDEX CONCURRENTLY maintenance_tasks_org_start_idx ON maintenance_tasks (org_id, start_time, id);
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_org_created_idx;
CREATE INDEX CONCURRENTLY maintenance_tasks_org_created_idx ON maintenance_tasks (org_id, created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_org_updated_idx;
CREATE INDEX CONCURRENTLY maintenance_tasks_org_updated_idx ON maintenance_tasks (org_id, updated_at, id);
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_org_aircraft_start_idx;
CREATE INDEX CONCURRENTLY maintenance_tasks_org_aircraft_start_idx ON maintenance_tasks (org_id, aircraft_id, start_time, id);
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_org_aircraft_state_start_idx;
CREATE INDEX CONCURRENTLY maintenance_tasks_org_aircraft_state_start_idx ON maintenance_tasks (org_id, aircraft_id, state, start_time, id);
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_org_state_start_idx;
CREATE INDEX CONCURRENTLY maintenance_tasks_org_state_start_idx ON maintenance_tasks (org_id, state, start_time, id);
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_org_type_start_idx;
CREATE INDEX CONCURRENTLY maintenance_tasks_org_type_start_idx ON maintenance_tasks (org_id, type, start_time, id);
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_confirmed_start_idx;
CREATE INDEX CONCURRENTLY maintenance_tasks_confirmed_start_idx ON maintenance_tasks (start_time) WHERE state = 'scheduled' AND assigned_mechanic_id IS NOT NULL AND deleted_at IS NULL;
DROP INDEX CONCURRENTLY IF EXISTS part_definitions_org_created_idx;
CREATE INDEX CONCURRENTLY part_definitions_org_created_idx ON part_definitions (org_id, created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS part_definitions_org_updated_idx;
CREATE INDEX CONCURRENTLY part_definitions_org_updated_idx ON part_definitions (org_id, updated_at, id);
DROP INDEX CONCURRENTLY IF EXISTS part_definitions_org_name_idx;
CREATE INDEX CONCURRENTLY part_definitions_org_name_idx ON part_definitions (org_id, name, id);
DROP INDEX CONCURRENTLY IF EXISTS part_definitions_org_category_created_idx;
CREATE INDEX CONCURRENTLY part_definitions_org_category_created_idx ON part_definitions (org_id, category, created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS part_items_org_created_idx;
CREATE INDEX CONCURRENTLY part_items_org_created_idx ON part_items (org_id, created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS part_items_org_updated_idx;
CREATE INDEX CONCURRENTLY part_items_org_updated_idx ON part_items (org_id, updated_at, id);
DROP INDEX CONCURRENTLY IF EXISTS part_items_org_serial_idx;
CREATE INDEX CONCURRENTLY part_items_org_serial_idx ON part_items (org_id, serial_number, id);
DROP INDEX CONCURRENTLY IF EXISTS part_items_org_definition_created_idx;
CREATE INDEX CONCURRENTLY part_items_org_definition_created_idx ON part_items (org_id, part_definition_id, created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS part_items_org_status_created_idx;
CREATE INDEX CONCURRENTLY part_items_org_status_created_idx ON part_items (org_id, status, created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS part_reservations_org_created_idx;
CREATE INDEX CONCURRENTLY part_reservations_org_created_idx ON part_reservations (org_id, created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS part_reservations_org_updated_idx;
CREATE INDEX CONCURRENTLY part_reservations_org_updated_idx ON part_reservations (org_id, updated_at, id);
DROP INDEX CONCURRENTLY IF EXISTS part_reservations_org_task_created_idx;
CREATE INDEX CONCURRENTLY part_reservations_org_task_created_idx ON part_reservations (org_id, task_id, created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS part_reservations_org_item_created_idx;
CREATE INDEX CONCURRENTLY part_reservations_org_item_created_idx ON part_reservations (org_id, part_item_id, created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS part_reservations_org_state_created_idx;
CREATE INDEX CONCURRENTLY part_reservations_org_state_created_idx ON part_reservations (org_id, state, created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS compliance_items_org_created_idx;
CREATE INDEX CONCURRENTLY compliance_items_org_created_idx ON compliance_items (org_id, created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS compliance_items_org_updated_idx;
CREATE INDEX CONCURRENTLY compliance_items_org_updated_idx ON compliance_items (org_id, updated_at, id);
DROP INDEX CONCURRENTLY IF EXISTS compliance_items_org_task_created_idx;
CREATE INDEX CONCURRENTLY compliance_items_org_task_created_idx ON compliance_items (org_id, task_id, created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS compliance_items_org_result_created_idx;
CREATE INDEX CONCURRENTLY compliance_items_org_result_created_idx ON compliance_items (org_id, result, created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS compliance_items_org_signed_created_idx;
CREATE INDEX CONCURRENTLY compliance_items_org_signed_created_idx ON compliance_items (org_id, (sign_off_time IS NOT NULL), created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS audit_logs_org_entity_time_idx;
CREATE INDEX CONCURRENTLY audit_logs_org_entity_time_idx ON audit_logs (org_id, entity_id, "timestamp", id);
DROP INDEX CONCURRENTLY IF EXISTS audit_logs_org_entity_type_time_idx;
CREATE INDEX CONCURRENTLY audit_logs_org_entity_type_time_idx ON audit_logs (org_id, entity_type, "timestamp", id);
DROP INDEX CONCURRENTLY IF EXISTS audit_logs_org_user_time_idx;
CREATE INDEX CONCURRENTLY audit_logs_org_user_time_idx ON audit_logs (org_id, user_id, "timestamp", id) WHERE user_id IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS audit_logs_org_action_time_idx;
CREATE INDEX CONCURRENTLY audit_logs_org_action_time_idx ON audit_logs (org_id, action, "timestamp", id);
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_start_idx;
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_aircraft_start_idx;
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_state_idx;
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_mechanic_idx;
DROP INDEX CONCURRENTLY IF EXISTS part_items_definition_idx;
DROP INDEX CONCURRENTLY IF EXISTS part_items_status_idx;
DROP INDEX CONCURRENTLY IF EXISTS part_reservations_task_idx;
DROP INDEX CONCURRENTLY IF EXISTS compliance_items_task_idx;
DROP INDEX CONCURRENTLY IF EXISTS audit_logs_entity_idx;
DROP INDEX CONCURRENTLY IF EXISTS audit_logs_user_idx;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS audit_logs_user_idx;
CREATE INDEX CONCURRENTLY audit_logs_user_idx ON audit_logs (org_id, user_id, "timestamp") WHERE user_id IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS audit_logs_entity_idx;
CREATE INDEX CONCURRENTLY audit_logs_entity_idx ON audit_logs (org_id, entity_type, entity_id, "timestamp");
DROP INDEX CONCURRENTLY IF EXISTS compliance_items_task_idx;
CREATE INDEX CONCURRENTLY compliance_items_task_idx ON compliance_items (org_id, task_id);
DROP INDEX CONCURRENTLY IF EXISTS part_reservations_task_idx;
CREATE INDEX CONCURRENTLY part_reservations_task_idx ON part_reservations (org_id, task_id);
DROP INDEX CONCURRENTLY IF EXISTS part_items_status_idx;
CREATE INDEX CONCURRENTLY part_items_status_idx ON part_items (org_id, status);
DROP INDEX CONCURRENTLY IF EXISTS part_items_definition_idx;
CREATE INDEX CONCURRENTLY part_items_definition_idx ON part_items (org_id, part_definition_id);
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_mechanic_idx;
CREATE INDEX CONCURRENTLY maintenance_tasks_mechanic_idx ON maintenance_tasks (org_id, assigned_mechanic_id) WHERE assigned_mechanic_id IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_state_idx;
CREATE INDEX CONCURRENTLY maintenance_tasks_state_idx ON maintenance_tasks (org_id, state);
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_aircraft_start_idx;
CREATE INDEX CONCURRENTLY maintenance_tasks_aircraft_start_idx ON maintenance_tasks (org_id, aircraft_id, start_time);
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_start_idx;
CREATE INDEX CONCURRENTLY maintenance_tasks_start_idx ON maintenance_tasks (org_id, start_time);
DROP INDEX CONCURRENTLY IF EXISTS audit_logs_org_action_time_idx;
DROP INDEX CONCURRENTLY IF EXISTS audit_logs_org_user_time_idx;
DROP INDEX CONCURRENTLY IF EXISTS audit_logs_org_entity_type_time_idx;
DROP INDEX CONCURRENTLY IF EXISTS audit_logs_org_entity_time_idx;
DROP INDEX CONCURRENTLY IF EXISTS compliance_items_org_signed_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS compliance_items_org_result_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS compliance_items_org_task_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS compliance_items_org_updated_idx;
DROP INDEX CONCURRENTLY IF EXISTS compliance_items_org_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS part_reservations_org_state_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS part_reservations_org_item_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS part_reservations_org_task_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS part_reservations_org_updated_idx;
DROP INDEX CONCURRENTLY IF EXISTS part_reservations_org_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS part_items_org_status_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS part_items_org_definition_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS part_items_org_serial_idx;
DROP INDEX CONCURRENTLY IF EXISTS part_items_org_updated_idx;
DROP INDEX CONCURRENTLY IF EXISTS part_items_org_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS part_definitions_org_category_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS part_definitions_org_name_idx;
DROP INDEX CONCURRENTLY IF EXISTS part_definitions_org_updated_idx;
DROP INDEX CONCURRENTLY IF EXISTS part_definitions_org_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_confirmed_start_idx;
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_org_type_start_idx;
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_org_state_start_idx;
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_org_aircraft_state_start_idx;
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_org_aircraft_start_idx;
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_org_updated_idx;
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_org_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS maintenance_tasks_org_start_idx;
DROP INDEX CONCURRENTLY IF EXISTS maintenance_programs_org_interval_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS maintenance_programs_org_name_idx;
DROP INDEX CONCURRENTLY IF EXISTS maintenance_programs_org_updated_idx;
DROP INDEX CONCURRENTLY IF EXISTS maintenance_programs_org_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS aircraft_org_status_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS aircraft_org_model_idx;
DROP INDEX CONCURRENTLY IF EXISTS aircraft_org_tail_number_idx;
DROP INDEX CONCURRENTLY IF EXISTS aircraft_org_updated_idx;
DROP INDEX CONCURRENTLY IF EXISTS aircraft_org_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS users_org_role_idx;
DROP INDEX CONCURRENTLY IF EXISTS users_org_email_idx;
DROP INDEX CONCURRENTLY IF EXISTS users_org_updated_idx;
DROP INDEX CONCURRENTLY IF EXISTS users_org_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS organizations_name_idx;
DROP INDEX CONCURRENTLY IF EXISTS organizations_updated_idx;
DROP INDEX CONCURRENTLY IF EXISTS organizations_created_idx;
