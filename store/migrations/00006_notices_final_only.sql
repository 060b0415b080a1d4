-- Notices are final-only: once a notice has its outcome (sent, failed,
-- skipped, unknown) the row never changes, except that a provider's receipt
-- moves sent or unknown to delivered or undelivered. A notice is never
-- deleted. The store's own statements already only touch pending rows (and
-- receipts); this makes the database refuse anything else, whoever runs it.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION notices_final_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'notices are final-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.status = 'pending'
       OR (OLD.status IN ('sent', 'unknown') AND NEW.status IN ('delivered', 'undelivered')) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'notices are final-only: notice % is %, it cannot change', OLD.idempotency_key, OLD.status
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER notices_final_only_rows
    BEFORE UPDATE OR DELETE ON notices
    FOR EACH ROW EXECUTE FUNCTION notices_final_only();
CREATE TRIGGER notices_final_only_truncate
    BEFORE TRUNCATE ON notices
    FOR EACH STATEMENT EXECUTE FUNCTION notices_final_only();

-- +goose Down
DROP TRIGGER notices_final_only_truncate ON notices;
DROP TRIGGER notices_final_only_rows ON notices;
DROP FUNCTION notices_final_only();
