-- +goose Up
-- Clicks are the one high-volume table: every short-link hit adds a row.
-- Its text primary key cost about a third of the database's work per click
-- (an index entry and its WAL record for each row). Click ids are
-- time-ordered and rows are appended in that order, so a BRIN index finds
-- a click by id for a fraction of the cost; ids are unique by construction
-- (48 bits of milliseconds, 80 random bits, incremented within a
-- millisecond).
--
-- What the primary key also gave, recognising a batch that was stored but
-- whose commit answer was lost, is now click_batches: one row per stored
-- batch, written in the batch's transaction, kept for a week.
CREATE TABLE click_batches (
    first_click_id TEXT PRIMARY KEY,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX click_batches_created_idx ON click_batches (created_at);
ALTER TABLE clicks DROP CONSTRAINT clicks_pkey;
CREATE INDEX clicks_id_brin ON clicks USING brin (id) WITH (autosummarize = on);

-- +goose Down
DROP INDEX clicks_id_brin;
ALTER TABLE clicks ADD PRIMARY KEY (id);
DROP TABLE click_batches;
