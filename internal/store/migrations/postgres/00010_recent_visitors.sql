-- +goose Up
-- Whether a click is a visitor's first in the hour was looked up in a
-- partial index over every unique click ever, which grew without bound and
-- took a random insert per unique click. recent_visitors keeps one row per
-- referrer and visitor with their last unique click, pruned to the recent
-- past, so the lookup and its upkeep stay in a small, hot table.
CREATE TABLE recent_visitors (
    referrer_id    TEXT NOT NULL,
    visitor_hash   TEXT NOT NULL,
    last_unique_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (referrer_id, visitor_hash)
);
CREATE INDEX recent_visitors_last_idx ON recent_visitors (last_unique_at);
INSERT INTO recent_visitors (referrer_id, visitor_hash, last_unique_at)
SELECT referrer_id, visitor_hash, MAX(created_at) FROM clicks
WHERE is_unique AND created_at > now() - interval '2 hours'
GROUP BY referrer_id, visitor_hash;
DROP INDEX clicks_unique_visitor_idx;

-- +goose Down
CREATE INDEX clicks_unique_visitor_idx ON clicks (referrer_id, visitor_hash, created_at) WHERE is_unique;
DROP TABLE recent_visitors;
