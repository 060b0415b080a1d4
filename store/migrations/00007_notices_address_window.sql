-- The send-time compliance check (store.ReserveNoticeChecked) counts the
-- notices of one channel and address in the last seven local days, across
-- every loan, on each send: an index on (channel, recipient, created_at)
-- reads just those rows. It replaces notices_recipient_idx (channel,
-- recipient), which it covers: the loans that reached an address
-- (LoansByAddress) are found by its prefix.
--
-- Built CONCURRENTLY, outside a transaction, so a large notices table keeps
-- taking sends while the index builds. A build that failed half way leaves
-- an INVALID index behind: drop it and migrate again.

-- +goose NO TRANSACTION

-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS notices_address_created_idx ON notices (channel, recipient, created_at);
DROP INDEX CONCURRENTLY IF EXISTS notices_recipient_idx;

-- +goose Down
CREATE INDEX CONCURRENTLY IF NOT EXISTS notices_recipient_idx ON notices (channel, recipient);
DROP INDEX CONCURRENTLY IF EXISTS notices_address_created_idx;
