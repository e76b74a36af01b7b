-- +goose Up
-- Refunds and disputes. A claim records what takes (part of) a payment back,
-- keyed by its own id so each takes effect once, and names the payment by
-- every identifier its source knows, so it can arrive before the payment.

CREATE TABLE refund_claims (
    id                    TEXT PRIMARY KEY,
    kind                  TEXT NOT NULL,
    payment_id            TEXT,
    stripe_charge         TEXT,
    stripe_payment_intent TEXT,
    stripe_invoice        TEXT,
    amount                BIGINT NOT NULL,
    dispute_status        TEXT,
    source                TEXT NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL,
    CONSTRAINT refund_claims_kind_check CHECK (kind IN ('refund', 'charge_refunded', 'dispute')),
    CONSTRAINT refund_claims_amount_check CHECK (amount >= 0),
    CONSTRAINT refund_claims_dispute_check CHECK ((kind = 'dispute') = (dispute_status IS NOT NULL)
        AND (dispute_status IS NULL OR dispute_status IN ('open', 'won', 'lost')))
);
CREATE INDEX refund_claims_payment_idx ON refund_claims (payment_id);
CREATE INDEX refund_claims_charge_idx ON refund_claims (stripe_charge);
CREATE INDEX refund_claims_intent_idx ON refund_claims (stripe_payment_intent);
CREATE INDEX refund_claims_invoice_idx ON refund_claims (stripe_invoice);

-- One row per payment identifier; transactions touching a payment lock its
-- rows first, so a payment and its refund never miss each other.
CREATE TABLE payment_locks (
    key TEXT PRIMARY KEY
);

ALTER TABLE referrals ADD COLUMN cancel_reason TEXT;

-- +goose Down
ALTER TABLE referrals DROP COLUMN cancel_reason;
DROP TABLE payment_locks;
DROP TABLE refund_claims;
