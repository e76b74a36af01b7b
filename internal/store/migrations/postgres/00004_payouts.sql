-- +goose Up
-- Payouts: a record with its own state (pending -> paid | failed). The ledger
-- entry reserving the amount is written with the record; the external credit
-- happens outside any transaction, under a Stripe idempotency key derived
-- from the payout id, so a crash or retry never pays twice.

CREATE TABLE payouts (
    id                    TEXT PRIMARY KEY,
    user_id               TEXT NOT NULL,
    currency              TEXT NOT NULL,
    amount                BIGINT NOT NULL DEFAULT 0,
    method                TEXT NOT NULL,
    status                TEXT NOT NULL,
    reference             TEXT NOT NULL DEFAULT '',
    stripe_customer_id    TEXT NOT NULL DEFAULT '',
    stripe_transaction_id TEXT NOT NULL DEFAULT '',
    failure_reason        TEXT NOT NULL DEFAULT '',
    idempotency_key       TEXT,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL,
    paid_at               TIMESTAMPTZ,
    CONSTRAINT payouts_idempotency_key_key UNIQUE (idempotency_key),
    CONSTRAINT payouts_method_check CHECK (method IN ('manual', 'stripe_credit')),
    CONSTRAINT payouts_status_check CHECK (status IN ('pending', 'paid', 'failed')),
    CONSTRAINT payouts_amount_check CHECK (amount >= 0)
);
CREATE INDEX payouts_user_idx ON payouts (user_id, id DESC);
CREATE INDEX payouts_status_idx ON payouts (status, id);

-- The payout a reward was (or is being) paid out in.
ALTER TABLE rewards ADD COLUMN payout_id TEXT REFERENCES payouts (id);
CREATE INDEX rewards_payout_idx ON rewards (payout_id);
CREATE INDEX rewards_unpaid_idx ON rewards (referrer_id, currency, available_at) WHERE payout_id IS NULL;

-- +goose Down
DROP INDEX rewards_unpaid_idx;
DROP INDEX rewards_payout_idx;
ALTER TABLE rewards DROP COLUMN payout_id;
DROP TABLE payouts;
