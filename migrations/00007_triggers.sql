-- Triggers that keep the rules no constraint can express: immutable audit log, immutable
-- signed compliance items, part expiry in the future, reservations only of available items.
-- Each raises its own SQLSTATE (class AM), which amss.infra.postgres.errors maps to a domain
-- error. All are ENABLE ALWAYS, so session_replication_role = replica cannot bypass them.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION audit_logs_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_logs is append-only: % rejected', TG_OP
        USING ERRCODE = 'AMS01', HINT = 'audit log entries can only be inserted';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_logs_immutable_row
    BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_reject_change();
-- row triggers do not fire on TRUNCATE; a statement trigger does
CREATE TRIGGER audit_logs_immutable_truncate
    BEFORE TRUNCATE ON audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_reject_change();
ALTER TABLE audit_logs ENABLE ALWAYS TRIGGER audit_logs_immutable_row;
ALTER TABLE audit_logs ENABLE ALWAYS TRIGGER audit_logs_immutable_truncate;

-- +goose StatementBegin
CREATE FUNCTION compliance_items_guard_sign_off() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    sign_off_columns constant text[] := ARRAY['result', 'sign_off_user_id', 'sign_off_time', 'updated_at', 'version'];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        IF EXISTS (SELECT 1 FROM compliance_items WHERE sign_off_time IS NOT NULL) THEN
            RAISE EXCEPTION 'compliance_items holds signed-off items, which are immutable: TRUNCATE rejected'
                USING ERRCODE = 'AMS02';
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.sign_off_time IS NOT NULL OR NEW.sign_off_user_id IS NOT NULL THEN
            RAISE EXCEPTION 'a compliance item is signed off after it is created, not at creation'
                USING ERRCODE = 'AMS02';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.sign_off_time IS NOT NULL THEN
        RAISE EXCEPTION 'compliance item % is signed off and immutable: % rejected', OLD.id, TG_OP
            USING ERRCODE = 'AMS02';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF NEW.sign_off_time IS NOT NULL AND OLD.deleted_at IS NOT NULL THEN
        RAISE EXCEPTION 'compliance item % is deleted and cannot be signed off', OLD.id
            USING ERRCODE = 'AMS02';
    END IF;
    -- the sign-off itself may set only the result and the sign-off fields, once
    IF NEW.sign_off_time IS NOT NULL
       AND (to_jsonb(NEW) - sign_off_columns) IS DISTINCT FROM (to_jsonb(OLD) - sign_off_columns) THEN
        RAISE EXCEPTION 'signing off compliance item % may only set result, sign_off_user_id and sign_off_time', OLD.id
            USING ERRCODE = 'AMS02';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER compliance_items_immutable_after_sign_off
    BEFORE INSERT OR UPDATE OR DELETE ON compliance_items
    FOR EACH ROW EXECUTE FUNCTION compliance_items_guard_sign_off();
CREATE TRIGGER compliance_items_immutable_truncate
    BEFORE TRUNCATE ON compliance_items
    FOR EACH STATEMENT EXECUTE FUNCTION compliance_items_guard_sign_off();
ALTER TABLE compliance_items ENABLE ALWAYS TRIGGER compliance_items_immutable_after_sign_off;
ALTER TABLE compliance_items ENABLE ALWAYS TRIGGER compliance_items_immutable_truncate;

-- +goose StatementBegin
CREATE FUNCTION part_items_check_expiry() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.expiry_date IS NOT NULL AND NEW.expiry_date <= now()
       AND (TG_OP = 'INSERT' OR NEW.expiry_date IS DISTINCT FROM OLD.expiry_date) THEN
        RAISE EXCEPTION 'part item expiry_date % is not in the future', NEW.expiry_date
            USING ERRCODE = 'AMS03';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER part_items_expiry_in_future
    BEFORE INSERT OR UPDATE OF expiry_date ON part_items
    FOR EACH ROW EXECUTE FUNCTION part_items_check_expiry();
ALTER TABLE part_items ENABLE ALWAYS TRIGGER part_items_expiry_in_future;

-- +goose StatementBegin
CREATE FUNCTION part_reservations_check_item_available() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    item record;
BEGIN
    IF NEW.state <> 'reserved'
       OR (TG_OP = 'UPDATE' AND OLD.state = 'reserved' AND OLD.part_item_id = NEW.part_item_id) THEN
        RETURN NEW;
    END IF;
    SELECT status, expiry_date, deleted_at INTO item
      FROM part_items WHERE org_id = NEW.org_id AND id = NEW.part_item_id
       FOR SHARE;
    IF NOT FOUND THEN
        RETURN NEW;  -- the foreign key reports the missing item
    END IF;
    IF item.deleted_at IS NOT NULL OR item.status <> 'in_stock'
       OR (item.expiry_date IS NOT NULL AND item.expiry_date <= now()) THEN
        RAISE EXCEPTION 'part item % is not available for reservation (status %)', NEW.part_item_id, item.status
            USING ERRCODE = 'AMS04';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER part_reservations_item_available
    BEFORE INSERT OR UPDATE OF state, part_item_id ON part_reservations
    FOR EACH ROW EXECUTE FUNCTION part_reservations_check_item_available();
ALTER TABLE part_reservations ENABLE ALWAYS TRIGGER part_reservations_item_available;

-- +goose Down
DROP TRIGGER part_reservations_item_available ON part_reservations;
DROP FUNCTION part_reservations_check_item_available();
DROP TRIGGER part_items_expiry_in_future ON part_items;
DROP FUNCTION part_items_check_expiry();
DROP TRIGGER compliance_items_immutable_truncate ON compliance_items;
DROP TRIGGER compliance_items_immutable_after_sign_off ON compliance_items;
DROP FUNCTION compliance_items_guard_sign_off();
DROP TRIGGER audit_logs_immutable_truncate ON audit_logs;
DROP TRIGGER audit_logs_immutable_row ON audit_logs;
DROP FUNCTION audit_logs_reject_change();
