-- +goose Up
-- Milestone bonuses: a fixed bonus when a referrer's QUALIFIED and REWARDED
-- referrals in a program reach a milestone. At most one bonus per
-- milestone stands at a time (the partial unique index); one reversed
-- before payout makes room for a new one if the count reaches it again.
CREATE TABLE milestone_bonuses (
    id           TEXT PRIMARY KEY,
    referrer_id  TEXT NOT NULL,
    program_id   TEXT NOT NULL REFERENCES programs (id),
    milestone    INTEGER NOT NULL,
    currency     TEXT NOT NULL,
    amount       INTEGER NOT NULL,
    referral_id  TEXT NOT NULL REFERENCES referrals (id),
    status       TEXT NOT NULL DEFAULT 'granted',
    payout_id    TEXT REFERENCES payouts (id),
    available_at DATETIME NOT NULL,
    created_at   DATETIME NOT NULL,
    reversed_at  DATETIME,
    CONSTRAINT milestone_bonuses_status_check CHECK (status IN ('granted', 'reversed')),
    CONSTRAINT milestone_bonuses_amount_check CHECK (amount > 0 AND milestone > 0)
);
CREATE UNIQUE INDEX milestone_bonuses_standing_idx ON milestone_bonuses (referrer_id, program_id, milestone) WHERE status = 'granted';
CREATE INDEX milestone_bonuses_payable_idx ON milestone_bonuses (referrer_id, currency) WHERE status = 'granted' AND payout_id IS NULL;
CREATE INDEX referrals_referrer_program_status_idx ON referrals (referrer_id, program_id, status);

-- SQLite cannot change a CHECK constraint in place: the ledger is copied
-- into a table that allows 'bonus' (nothing references ledger entries).
CREATE TABLE ledger_entries_new (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    currency     TEXT NOT NULL,
    type         TEXT NOT NULL,
    amount       INTEGER NOT NULL,
    referral_id  TEXT,
    reward_id    TEXT REFERENCES rewards (id),
    payout_id    TEXT,
    description  TEXT NOT NULL DEFAULT '',
    available_at DATETIME NOT NULL,
    created_at   DATETIME NOT NULL,
    CONSTRAINT ledger_entries_type_check CHECK (type IN ('reward', 'reward_reversal', 'payout', 'clawback', 'adjustment', 'bonus'))
);
INSERT INTO ledger_entries_new SELECT id, user_id, currency, type, amount, referral_id, reward_id, payout_id, description, available_at, created_at FROM ledger_entries;
DROP TABLE ledger_entries;
ALTER TABLE ledger_entries_new RENAME TO ledger_entries;
CREATE INDEX ledger_entries_user_idx ON ledger_entries (user_id, currency, id DESC);
CREATE INDEX ledger_entries_hold_idx ON ledger_entries (user_id, currency, available_at);

-- +goose Down
DELETE FROM ledger_entries WHERE type = 'bonus';
DROP INDEX referrals_referrer_program_status_idx;
DROP TABLE milestone_bonuses;
