-- +goose Up
-- Deciding whether a click is a visitor's first in the hour only needs
-- their unique clicks: index those alone, so the lookup stays small at any
-- traffic and repeat clicks pay no index maintenance.
DROP INDEX clicks_visitor_idx;
CREATE INDEX clicks_unique_visitor_idx ON clicks (referrer_id, visitor_hash, created_at) WHERE is_unique;

-- +goose Down
DROP INDEX clicks_unique_visitor_idx;
CREATE INDEX clicks_visitor_idx ON clicks (referrer_id, visitor_hash, created_at);
