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
    amount       BIGINT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'granted',
    payout_id    TEXT REFERENCES payouts (id),
    available_at TIMESTAMPTZ NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    reversed_at  TIMESTAMPTZ,
    CONSTRAINT friend_credits_status_check CHECK (status IN ('granted', 'reversed')),
    CONSTRAINT friend_credits_amount_check CHECK (amount > 0)
);
CREATE UNIQUE INDEX friend_credits_standing_idx ON friend_credits (referral_id) WHERE status = 'granted';
CREATE INDEX friend_credits_payable_idx ON friend_credits (user_id, currency) WHERE status = 'granted' AND payout_id IS NULL;

ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_type_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_type_check
    CHECK (type IN ('reward', 'reward_reversal', 'payout', 'clawback', 'adjustment', 'bonus', 'credit'));

-- +goose Down
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_type_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_type_check
    CHECK (type IN ('reward', 'reward_reversal', 'payout', 'clawback', 'adjustment', 'bonus'));
DROP TABLE friend_credits;
