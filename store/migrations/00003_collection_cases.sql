-- Collection cases: a loan handed to collectors (D+15, or no reachable channel
-- left). dedupe_key makes opening a case idempotent across activity retries.

-- +goose Up
CREATE TABLE collection_cases (
    id            bigserial PRIMARY KEY,
    loan_id       text        NOT NULL CHECK (loan_id <> ''),
    customer_id   text        NOT NULL DEFAULT '',
    reason        text        NOT NULL,
    status        text        NOT NULL DEFAULT 'open'
                              CHECK (status IN ('open', 'assigned', 'resolved', 'closed')),
    assigned_to   text,
    days_past_due integer     NOT NULL DEFAULT 0 CHECK (days_past_due >= 0),
    overdue_total numeric,
    currency      text,
    workflow_id   text        NOT NULL DEFAULT '',
    run_id        text        NOT NULL DEFAULT '',
    dedupe_key    text        NOT NULL UNIQUE CHECK (dedupe_key <> ''),
    opened_at     timestamptz NOT NULL DEFAULT now(),
    closed_at     timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT collection_cases_total_has_currency CHECK (overdue_total IS NULL OR currency IS NOT NULL)
);

CREATE INDEX collection_cases_loan_opened_idx ON collection_cases (loan_id, opened_at, id);
-- Ops: the work queue of open cases, per collector.
CREATE INDEX collection_cases_open_idx ON collection_cases (assigned_to, opened_at) WHERE status IN ('open', 'assigned');

-- +goose Down
DROP TABLE collection_cases;
