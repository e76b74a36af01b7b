-- +goose Up
-- Programs as data: the reward rules that came from REWARD_* become rows an
-- operator changes through the API. The default program exists from here
-- on with a fixed id; while managed_by is 'environment' its rules are the
-- REWARD_* variables of the running service (so existing installs behave
-- exactly as before), until an operator changes it through the API.
CREATE TABLE programs (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    status     TEXT NOT NULL DEFAULT 'active',
    managed_by TEXT NOT NULL DEFAULT 'api',
    rules      TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT programs_status_check CHECK (status IN ('active', 'archived')),
    CONSTRAINT programs_managed_by_check CHECK (managed_by IN ('environment', 'api'))
);
CREATE UNIQUE INDEX programs_one_default_idx ON programs (is_default) WHERE is_default;
INSERT INTO programs (id, name, is_default, status, managed_by, rules, created_at, updated_at)
VALUES ('prog_default', 'Default program', TRUE, 'active', 'environment', '{}', now(), now());

-- Every change of a program: who (the admin's subject), when, and the
-- program as it was after the change.
CREATE TABLE program_changes (
    id         TEXT PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs (id),
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    program    TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX program_changes_program_idx ON program_changes (program_id, id DESC);

-- A user has one code per program (the existing codes are the default
-- program's); a referral belongs to a program; a reward names the program
-- whose rule earned it (the rule itself is copied onto the reward).
ALTER TABLE referral_codes ADD COLUMN program_id TEXT NOT NULL DEFAULT 'prog_default' REFERENCES programs (id);
ALTER TABLE referral_codes DROP CONSTRAINT referral_codes_user_id_key;
ALTER TABLE referral_codes ADD CONSTRAINT referral_codes_user_program_key UNIQUE (user_id, program_id);
ALTER TABLE referrals ADD COLUMN program_id TEXT NOT NULL DEFAULT 'prog_default' REFERENCES programs (id);
ALTER TABLE rewards ADD COLUMN program_id TEXT REFERENCES programs (id);

-- +goose Down
ALTER TABLE rewards DROP COLUMN program_id;
ALTER TABLE referrals DROP COLUMN program_id;
DELETE FROM code_aliases WHERE referral_code_id IN (SELECT id FROM referral_codes WHERE program_id <> 'prog_default');
DELETE FROM referral_codes WHERE program_id <> 'prog_default';
ALTER TABLE referral_codes DROP CONSTRAINT referral_codes_user_program_key;
ALTER TABLE referral_codes ADD CONSTRAINT referral_codes_user_id_key UNIQUE (user_id);
ALTER TABLE referral_codes DROP COLUMN program_id;
DROP TABLE program_changes;
DROP TABLE programs;
