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
    amount       BIGINT NOT NULL,
    referral_id  TEXT NOT NULL REFERENCES referrals (id),
    status       TEXT NOT NULL DEFAULT 'granted',
    payout_id    TEXT REFERENCES payouts (id),
    available_at TIMESTAMPTZ NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    reversed_at  TIMESTAMPTZ,
    CONSTRAINT milestone_bonuses_status_check CHECK (status IN ('granted', 'reversed')),
    CONSTRAINT milestone_bonuses_amount_check CHECK (amount > 0 AND milestone > 0)
);
CREATE UNIQUE INDEX milestone_bonuses_standing_idx ON milestone_bonuses (referrer_id, program_id, milestone) WHERE status = 'granted';
CREATE INDEX milestone_bonuses_payable_idx ON milestone_bonuses (referrer_id, currency) WHERE status = 'granted' AND payout_id IS NULL;
CREATE INDEX referrals_referrer_program_status_idx ON referrals (referrer_id, program_id, status);

ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_type_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_type_check
    CHECK (type IN ('reward', 'reward_reversal', 'payout', 'clawback', 'adjustment', 'bonus'));

-- +goose Down
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_type_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_type_check
    CHECK (type IN ('reward', 'reward_reversal', 'payout', 'clawback', 'adjustment'));
DROP INDEX referrals_referrer_program_status_idx;
DROP TABLE milestone_bonuses;
