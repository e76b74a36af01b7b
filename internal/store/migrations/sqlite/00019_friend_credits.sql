-- +goose Up
-- A referred friend's account credit, granted at signup or on
-- qualification as the program says; at most one standing per referral
-- (the partial unique index). A credit is reversed if the referral is
-- cancelled before the credit is paid out.
CREATE TABLE friend_credits (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    referral_id  TEXT NOT NULL REFERENCES referrals (id),
    program_id   TEXT NOT NULL REFERENCES programs (id),
    currency     TEXT NOT NULL,
    amount       INTEGER NOT NULL,
    status       TEXT NOT NULL DEFAULT 'granted',
    payout_id    TEXT REFERENCES payouts (id),
    available_at DATETIME NOT NULL,
    created_at   DATETIME NOT NULL,
    reversed_at  DATETIME,
    CONSTRAINT friend_credits_status_check CHECK (status IN ('granted', 'reversed')),
    CONSTRAINT friend_credits_amount_check CHECK (amount > 0)
);
CREATE UNIQUE INDEX friend_credits_standing_idx ON friend_credits (referral_id) WHERE status = 'granted';
CREATE INDEX friend_credits_payable_idx ON friend_credits (user_id, currency) WHERE status = 'granted' AND payout_id IS NULL;

-- The ledger's CHECK grows by 'credit': SQLite copies the ledger into a
-- table with the wider constraint (nothing references ledger entries).
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
    CONSTRAINT ledger_entries_type_check CHECK (type IN ('reward', 'reward_reversal', 'payout', 'clawback', 'adjustment', 'bonus', 'credit'))
);
INSERT INTO ledger_entries_new SELECT id, user_id, currency, type, amount, referral_id, reward_id, payout_id, description, available_at, created_at FROM ledger_entries;
DROP TABLE ledger_entries;
ALTER TABLE ledger_entries_new RENAME TO ledger_entries;
CREATE INDEX ledger_entries_user_idx ON ledger_entries (user_id, currency, id DESC);
CREATE INDEX ledger_entries_hold_idx ON ledger_entries (user_id, currency, available_at);

-- +goose Down
DELETE FROM ledger_entries WHERE type = 'credit';
DROP TABLE friend_credits;
