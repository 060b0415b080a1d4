-- Ledger kind signal_rejected: an operator signal (pause, resume, close,
-- contact update, reschedule) that the loan workflow refused, recorded with
-- its reason so the audit shows what was asked and why nothing happened.
--
-- The kind list is one CHECK constraint, replaced here by a wider one. It is
-- added NOT VALID: every existing row already passed the narrower check, so
-- validating would only scan the whole (ever-growing) ledger under an
-- exclusive lock, blocking appends, to learn nothing. NOT VALID constraints
-- are enforced on every row written from now on.
-- +goose Up
ALTER TABLE ledger DROP CONSTRAINT ledger_kind_check;
ALTER TABLE ledger ADD CONSTRAINT ledger_kind_check CHECK (kind IN (
    'loan_started', 'repayment_applied', 'repayment_duplicate',
    'penalty_posted', 'late_fee_assessed', 'stage_changed',
    'paused', 'resumed', 'case_opened', 'charged_off', 'closed',
    'rescheduled', 'contact_updated', 'paid_off',
    'signal_rejected')) NOT VALID;

-- +goose Down
-- Back to the narrower list for new rows. signal_rejected rows written in the
-- meantime stay: the ledger is append-only (hence NOT VALID here too).
ALTER TABLE ledger DROP CONSTRAINT ledger_kind_check;
ALTER TABLE ledger ADD CONSTRAINT ledger_kind_check CHECK (kind IN (
    'loan_started', 'repayment_applied', 'repayment_duplicate',
    'penalty_posted', 'late_fee_assessed', 'stage_changed',
    'paused', 'resumed', 'case_opened', 'charged_off', 'closed',
    'rescheduled', 'contact_updated', 'paid_off')) NOT VALID;
