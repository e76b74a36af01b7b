-- +goose Up
-- Money you can audit: every balance change is an append-only ledger entry;
-- user_balances stays the cached total (balance = sum of the user's entries
-- in that currency). Each qualifying payment's reward is a row holding the
-- rule in force when it was earned.

CREATE TABLE rewards (
    id              TEXT PRIMARY KEY,
    referral_id     TEXT NOT NULL REFERENCES referrals (id),
    referrer_id     TEXT NOT NULL,
    payment_id      TEXT NOT NULL REFERENCES payments (id),
    currency        TEXT NOT NULL,
    payment_amount  BIGINT NOT NULL,
    refunded_amount BIGINT NOT NULL DEFAULT 0,
    percent_units   BIGINT NOT NULL,
    fixed_amount    BIGINT NOT NULL DEFAULT 0,
    cap_amount      BIGINT NOT NULL DEFAULT 0,
    amount          BIGINT NOT NULL,
    kept_amount     BIGINT NOT NULL,
    available_at    TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT rewards_payment_id_key UNIQUE (payment_id),
    CONSTRAINT rewards_amounts_check CHECK (amount >= 0 AND kept_amount >= 0 AND kept_amount <= amount
        AND refunded_amount >= 0 AND refunded_amount <= payment_amount)
);
CREATE INDEX rewards_referral_idx ON rewards (referral_id);

CREATE TABLE ledger_entries (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    currency     TEXT NOT NULL,
    type         TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    referral_id  TEXT,
    reward_id    TEXT REFERENCES rewards (id),
    payout_id    TEXT,
    description  TEXT NOT NULL DEFAULT '',
    available_at TIMESTAMPTZ NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    CONSTRAINT ledger_entries_type_check CHECK (type IN ('reward', 'reward_reversal', 'payout', 'clawback', 'adjustment'))
);
CREATE INDEX ledger_entries_user_idx ON ledger_entries (user_id, currency, id DESC);
CREATE INDEX ledger_entries_hold_idx ON ledger_entries (user_id, currency, available_at);

-- Rewards earned before the ledger existed become entries, available at once.
INSERT INTO rewards (id, referral_id, referrer_id, payment_id, currency, payment_amount,
                     percent_units, amount, kept_amount, available_at, created_at)
SELECT 'rw_' || substr(r.id, 5), r.id, r.referrer_id, p.id, r.reward_currency, p.amount,
       0, r.reward_amount, r.reward_amount, r.qualified_at, r.qualified_at
FROM referrals r JOIN payments p ON p.id = r.qualifying_payment_id
WHERE r.reward_amount IS NOT NULL;

INSERT INTO ledger_entries (id, user_id, currency, type, amount, referral_id, reward_id,
                            description, available_at, created_at)
SELECT 'le_' || substr(rw.id, 4), rw.referrer_id, rw.currency, 'reward', rw.amount, rw.referral_id, rw.id,
       'reward for payment ' || rw.payment_id, rw.available_at, rw.created_at
FROM rewards rw WHERE rw.amount > 0;

-- +goose Down
DROP TABLE ledger_entries;
DROP TABLE rewards;
