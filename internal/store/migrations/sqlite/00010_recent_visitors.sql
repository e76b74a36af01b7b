-- +goose Up
-- One row per referrer and visitor with their last unique click, pruned to
-- the recent past, instead of an index over every unique click (see the
-- PostgreSQL migration).
CREATE TABLE recent_visitors (
    referrer_id    TEXT NOT NULL,
    visitor_hash   TEXT NOT NULL,
    last_unique_at DATETIME NOT NULL,
    PRIMARY KEY (referrer_id, visitor_hash)
);
CREATE INDEX recent_visitors_last_idx ON recent_visitors (last_unique_at);
INSERT INTO recent_visitors (referrer_id, visitor_hash, last_unique_at)
SELECT referrer_id, visitor_hash, MAX(created_at) FROM clicks WHERE is_unique
GROUP BY referrer_id, visitor_hash;
DROP INDEX clicks_unique_visitor_idx;

-- +goose Down
CREATE INDEX clicks_unique_visitor_idx ON clicks (referrer_id, visitor_hash, created_at) WHERE is_unique;
DROP TABLE recent_visitors;
