-- Real delivery: what a provider did with a notice after it took it, the
-- moment the provider was called (so a retry knows the outcome may be
-- unknown), opt-outs a borrower sent by keyword, and which loans reach which
-- address (to apply such an opt-out to every open loan of that number).

-- +goose Up
ALTER TABLE notices DROP CONSTRAINT notices_status_check;
-- unknown: the provider may have taken the notice but its answer was lost
-- and it cannot deduplicate a resend; the delivery receipt settles it.
-- delivered / undelivered: what the provider's receipt said after sent.
ALTER TABLE notices ADD CONSTRAINT notices_status_check CHECK (status IN (
    'pending', 'sent', 'failed', 'skipped', 'unknown', 'delivered', 'undelivered'));
ALTER TABLE notices ADD COLUMN provider_called_at timestamptz;
ALTER TABLE notices ADD COLUMN provider_error text NOT NULL DEFAULT '';
ALTER TABLE notices ADD COLUMN delivered_at timestamptz;
CREATE INDEX notices_provider_message_idx ON notices (provider, provider_message_id)
    WHERE provider_message_id <> '';
CREATE INDEX notices_recipient_idx ON notices (channel, recipient);

-- One row per opt-out an address made; revoked_at ends it (START after a
-- keyword STOP). At most one open opt-out per channel and address.
CREATE TABLE opt_outs (
    id          bigserial   PRIMARY KEY,
    channel     text        NOT NULL CHECK (channel IN ('sms', 'email', 'push')),
    address     text        NOT NULL CHECK (address <> ''),
    -- keyword: the borrower replied STOP (or 退订…); carrier: the provider
    -- reported the address unsubscribed.
    source      text        NOT NULL CHECK (source IN ('keyword', 'carrier')),
    keyword     text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE UNIQUE INDEX opt_outs_open_idx ON opt_outs (channel, address) WHERE revoked_at IS NULL;

-- The addresses a loan was started or updated with, so an opt-out by keyword
-- reaches every open loan of that number, even one not yet notified.
CREATE TABLE loan_contacts (
    loan_id    text        NOT NULL CHECK (loan_id <> ''),
    channel    text        NOT NULL CHECK (channel IN ('sms', 'email', 'push')),
    address    text        NOT NULL CHECK (address <> ''),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (loan_id, channel, address)
);
CREATE INDEX loan_contacts_address_idx ON loan_contacts (channel, address);

-- +goose Down
DROP TABLE loan_contacts;
DROP TABLE opt_outs;
DROP INDEX notices_recipient_idx;
DROP INDEX notices_provider_message_idx;
ALTER TABLE notices DROP COLUMN delivered_at;
ALTER TABLE notices DROP COLUMN provider_error;
ALTER TABLE notices DROP COLUMN provider_called_at;
UPDATE notices SET status = 'sent' WHERE status IN ('delivered', 'undelivered', 'unknown');
ALTER TABLE notices DROP CONSTRAINT notices_status_check;
ALTER TABLE notices ADD CONSTRAINT notices_status_check CHECK (status IN ('pending', 'sent', 'failed', 'skipped'));
