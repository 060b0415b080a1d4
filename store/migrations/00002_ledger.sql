-- Ledger: the append-only history of a loan (repayments, penalties, stage
-- changes, pauses, cases, charge-off). It outlives Temporal's retention, so the
-- database itself refuses UPDATE, DELETE and TRUNCATE. dedupe_key lets an
-- activity retry append the same event at most once.

-- +goose Up
CREATE TABLE ledger (
    id          bigserial PRIMARY KEY,
    loan_id     text        NOT NULL CHECK (loan_id <> ''),
    kind        text        NOT NULL CHECK (kind IN (
                    'loan_started', 'repayment_applied', 'repayment_duplicate',
                    'penalty_posted', 'late_fee_assessed', 'stage_changed',
                    'paused', 'resumed', 'case_opened', 'charged_off', 'closed',
                    'rescheduled', 'contact_updated', 'paid_off')),
    amount      numeric,
    currency    text,
    detail      jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(detail) = 'object'),
    -- Business time (a back-dated repayment carries its paid_at).
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    workflow_id text        NOT NULL DEFAULT '',
    run_id      text        NOT NULL DEFAULT '',
    dedupe_key  text        UNIQUE CHECK (dedupe_key <> ''),
    CONSTRAINT ledger_amount_has_currency CHECK (amount IS NULL OR currency IS NOT NULL)
);

CREATE INDEX ledger_loan_occurred_idx ON ledger (loan_id, occurred_at, id);

-- +goose StatementBegin
CREATE FUNCTION ledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'record a correcting entry instead of changing history';
END;
$$;
-- +goose StatementEnd

-- Statement level, so even an UPDATE or DELETE that matches no row is refused.
CREATE TRIGGER ledger_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- +goose Down
-- The ledger is the legal record of a loan: no tool rolls it back. Drop it by
-- hand, after a backup, if it really has to go.
-- +goose StatementBegin
DO $$
BEGIN
    RAISE EXCEPTION 'refusing to drop the append-only ledger in a down migration';
END;
$$;
-- +goose StatementEnd
