-- +goose NO TRANSACTION
-- +goose Up
-- Programs as data: the reward rules that came from REWARD_* become rows an
-- operator changes through the API. The default program exists from here
-- on with a fixed id; while managed_by is 'environment' its rules are the
-- REWARD_* variables of the running service (so existing installs behave
-- exactly as before), until an operator changes it through the API.
--
-- SQLite cannot drop the one-code-per-user constraint in place: the codes
-- table is rebuilt, with foreign keys off (they cannot be switched inside a
-- transaction) and the rebuild itself in one transaction.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE programs (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    status     TEXT NOT NULL DEFAULT 'active',
    managed_by TEXT NOT NULL DEFAULT 'api',
    rules      TEXT NOT NULL DEFAULT '{}',
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    CONSTRAINT programs_status_check CHECK (status IN ('active', 'archived')),
    CONSTRAINT programs_managed_by_check CHECK (managed_by IN ('environment', 'api'))
);
CREATE UNIQUE INDEX programs_one_default_idx ON programs (is_default) WHERE is_default;
INSERT INTO programs (id, name, is_default, status, managed_by, rules, created_at, updated_at)
VALUES ('prog_default', 'Default program', TRUE, 'active', 'environment', '{}',
        strftime('%Y-%m-%d %H:%M:%f', 'now'), strftime('%Y-%m-%d %H:%M:%f', 'now'));

CREATE TABLE program_changes (
    id         TEXT PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs (id),
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    program    TEXT NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE INDEX program_changes_program_idx ON program_changes (program_id, id DESC);

CREATE TABLE referral_codes_new (
    id         TEXT PRIMARY KEY,
    code       TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    program_id TEXT NOT NULL DEFAULT 'prog_default' REFERENCES programs (id),
    CONSTRAINT referral_codes_code_key UNIQUE (code),
    CONSTRAINT referral_codes_user_program_key UNIQUE (user_id, program_id)
);
INSERT INTO referral_codes_new (id, code, user_id, created_at, program_id)
SELECT id, code, user_id, created_at, 'prog_default' FROM referral_codes;
DROP TABLE referral_codes;
ALTER TABLE referral_codes_new RENAME TO referral_codes;

ALTER TABLE referrals ADD COLUMN program_id TEXT NOT NULL DEFAULT 'prog_default' REFERENCES programs (id);
ALTER TABLE rewards ADD COLUMN program_id TEXT REFERENCES programs (id);
COMMIT;
PRAGMA foreign_keys = ON;

-- +goose Down
PRAGMA foreign_keys = OFF;
BEGIN;
ALTER TABLE rewards DROP COLUMN program_id;
ALTER TABLE referrals DROP COLUMN program_id;
DELETE FROM code_aliases WHERE referral_code_id IN (SELECT id FROM referral_codes WHERE program_id <> 'prog_default');
CREATE TABLE referral_codes_old (
    id         TEXT PRIMARY KEY,
    code       TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    CONSTRAINT referral_codes_code_key UNIQUE (code),
    CONSTRAINT referral_codes_user_id_key UNIQUE (user_id)
);
INSERT INTO referral_codes_old (id, code, user_id, created_at)
SELECT id, code, user_id, created_at FROM referral_codes WHERE program_id = 'prog_default';
DROP TABLE referral_codes;
ALTER TABLE referral_codes_old RENAME TO referral_codes;
DROP TABLE program_changes;
DROP TABLE programs;
COMMIT;
PRAGMA foreign_keys = ON;
