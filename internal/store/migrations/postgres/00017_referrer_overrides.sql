-- +goose Up
-- A referrer's own percent in a program (a partner at 30%), set by an
-- operator; the program's history records who set or removed it.
CREATE TABLE referrer_overrides (
    user_id       TEXT NOT NULL,
    program_id    TEXT NOT NULL REFERENCES programs (id),
    percent_units BIGINT NOT NULL,
    set_by        TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, program_id),
    CONSTRAINT referrer_overrides_percent_check CHECK (percent_units BETWEEN 0 AND 1000000)
);
ALTER TABLE program_changes ADD COLUMN override TEXT;

-- +goose Down
ALTER TABLE program_changes DROP COLUMN override;
DROP TABLE referrer_overrides;
