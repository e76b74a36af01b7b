-- +goose Up
-- PostgreSQL moves to recent_visits, keyed by a 64-bit hash of referrer and
-- visitor, for speed under heavy click traffic. SQLite, with one writer and
-- no SHA-256 in SQL to carry the rows over, keeps recent_visitors; this
-- version only keeps both databases' schema versions in step.
SELECT 1;

-- +goose Down
SELECT 1;
