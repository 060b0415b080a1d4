-- Notices: one row per notice attempt (sms, email or push), the audit of what
-- was said to whom. The idempotency key is unique, so a retried activity finds
-- the row it reserved before calling the provider and never sends twice.

-- +goose Up
CREATE TABLE notices (
    id                  bigserial PRIMARY KEY,
    idempotency_key     text        NOT NULL UNIQUE CHECK (idempotency_key <> ''),
    loan_id             text        NOT NULL CHECK (loan_id <> ''),
    customer_id         text        NOT NULL,
    channel             text        NOT NULL CHECK (channel IN ('sms', 'email', 'push')),
    template            text        NOT NULL,
    locale              text        NOT NULL,
    subject             text        NOT NULL DEFAULT '',
    body                text        NOT NULL DEFAULT '',
    body_html           text        NOT NULL DEFAULT '',
    -- The real address: masked in logs, never here.
    recipient           text        NOT NULL DEFAULT '',
    -- pending: reserved before the provider call; the others are final.
    status              text        NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
    reason              text        NOT NULL DEFAULT '',
    provider            text        NOT NULL DEFAULT '',
    provider_message_id text        NOT NULL DEFAULT '',
    workflow_id         text        NOT NULL DEFAULT '',
    run_id              text        NOT NULL DEFAULT '',
    attempt             integer     NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    sent_at             timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX notices_loan_created_idx ON notices (loan_id, created_at, id);
CREATE INDEX notices_customer_created_idx ON notices (customer_id, created_at);
-- Ops: notices stuck in pending (provider call made, outcome never recorded).
CREATE INDEX notices_pending_idx ON notices (created_at) WHERE status = 'pending';

-- +goose Down
DROP TABLE notices;
