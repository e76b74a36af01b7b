-- +goose Up
-- One row per stored click batch, written in the batch's transaction, so a
-- batch retried after its commit answer was lost is recognised (see the
-- PostgreSQL migration; SQLite keeps the clicks primary key).
CREATE TABLE click_batches (
    first_click_id TEXT PRIMARY KEY,
    created_at     DATETIME NOT NULL
);
CREATE INDEX click_batches_created_idx ON click_batches (created_at);

-- +goose Down
DROP TABLE click_batches;
