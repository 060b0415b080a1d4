-- Operators ask across loans "whose reminders failed today?"
-- (GET /v1/notices?status=failed&since=…, store.Notices): an index on
-- (status, updated_at) reads only the notices that reached that outcome in
-- the window. updated_at is when a notice got its final status (or a
-- receipt's). Built CONCURRENTLY, as 00007.

-- +goose NO TRANSACTION

-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS notices_status_updated_idx ON notices (status, updated_at);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS notices_status_updated_idx;
