-- +goose Up
-- Upholding "unique once per hour" cost the database more than storing the
-- click itself: for a new visitor, an upsert into recent_visitors probed
-- and extended two B-trees keyed by two text columns (about 6.5 µs a
-- visitor, measured on the bench's database). recent_visits keys a
-- visitor by one 64-bit number, the first 8 bytes of
-- SHA-256(referrer id, NUL, visitor hash), the store's visitKey: a smaller
-- tree, cheaper comparisons, and no index on the time (pruning scans the
-- table every few minutes instead). That is about 3.5 µs a new visitor.
-- Two visitors of a referrer sharing a key within the hour (odds about
-- n²/2⁶⁵ for n visitors in the hour) would count as one.
-- The fill factor leaves room for the hourly update to stay on its page.
CREATE TABLE recent_visits (
    visit_key      BIGINT PRIMARY KEY,
    last_unique_at TIMESTAMPTZ NOT NULL
) WITH (fillfactor = 90);
INSERT INTO recent_visits (visit_key, last_unique_at)
SELECT ('x' || left(encode(sha256(convert_to(referrer_id, 'UTF8') || '\x00'::bytea || convert_to(visitor_hash, 'UTF8')), 'hex'), 16))::bit(64)::bigint,
       MAX(last_unique_at)
FROM recent_visitors GROUP BY 1;
DROP TABLE recent_visitors;

-- +goose Down
-- The hashes cannot be turned back into referrer and visitor: recent_visitors
-- starts empty, so a visitor of the last hour may count as unique once more.
CREATE TABLE recent_visitors (
    referrer_id    TEXT NOT NULL,
    visitor_hash   TEXT NOT NULL,
    last_unique_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (referrer_id, visitor_hash)
);
CREATE INDEX recent_visitors_last_idx ON recent_visitors (last_unique_at);
DROP TABLE recent_visits;
