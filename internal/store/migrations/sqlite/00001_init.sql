-- +goose Up
-- The referral program's schema. Every uniqueness rule the service relies on
-- is a constraint here: one code per user, unique codes, one referral per
-- referred user, each payment and each Stripe event recorded once.

CREATE TABLE referral_codes (
    id         TEXT PRIMARY KEY,
    code       TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    CONSTRAINT referral_codes_code_key UNIQUE (code),
    CONSTRAINT referral_codes_user_id_key UNIQUE (user_id)
);

CREATE TABLE referrals (
    id                    TEXT PRIMARY KEY,
    referral_code_id      TEXT NOT NULL REFERENCES referral_codes (id),
    code                  TEXT NOT NULL,
    referrer_id           TEXT NOT NULL,
    referred_user_id      TEXT NOT NULL,
    status                TEXT NOT NULL DEFAULT 'PENDING',
    reward_amount         INTEGER,
    reward_currency       TEXT,
    qualifying_payment_id TEXT,
    qualified_at          DATETIME,
    reward_paid_at        DATETIME,
    referred_email        TEXT NOT NULL DEFAULT '',
    signup_ip             TEXT NOT NULL DEFAULT '',
    user_agent            TEXT NOT NULL DEFAULT '',
    created_at            DATETIME NOT NULL,
    CONSTRAINT referrals_referred_user_id_key UNIQUE (referred_user_id),
    CONSTRAINT referrals_qualifying_payment_id_key UNIQUE (qualifying_payment_id),
    CONSTRAINT referrals_status_check CHECK (status IN ('PENDING', 'QUALIFIED', 'REWARDED', 'CANCELLED')),
    CONSTRAINT referrals_reward_check CHECK ((reward_amount IS NULL) = (reward_currency IS NULL) AND (reward_amount IS NULL OR reward_amount >= 0)),
    CONSTRAINT referrals_not_self CHECK (referrer_id <> referred_user_id)
);
CREATE INDEX referrals_referrer_idx ON referrals (referrer_id, id DESC);
CREATE INDEX referrals_referrer_status_idx ON referrals (referrer_id, status, id DESC);

CREATE TABLE user_balances (
    user_id    TEXT NOT NULL,
    currency   TEXT NOT NULL,
    balance    INTEGER NOT NULL DEFAULT 0,
    updated_at DATETIME NOT NULL,
    PRIMARY KEY (user_id, currency)
);

CREATE TABLE payments (
    id                      TEXT PRIMARY KEY,
    user_id                 TEXT NOT NULL,
    amount                  INTEGER NOT NULL,
    currency                TEXT NOT NULL,
    source                  TEXT NOT NULL,
    stripe_payment_intent   TEXT,
    stripe_invoice          TEXT,
    stripe_charge           TEXT,
    stripe_checkout_session TEXT,
    stripe_customer         TEXT,
    referral_id             TEXT REFERENCES referrals (id),
    created_at              DATETIME NOT NULL,
    CONSTRAINT payments_amount_check CHECK (amount >= 0),
    CONSTRAINT payments_stripe_payment_intent_key UNIQUE (stripe_payment_intent),
    CONSTRAINT payments_stripe_invoice_key UNIQUE (stripe_invoice),
    CONSTRAINT payments_stripe_charge_key UNIQUE (stripe_charge),
    CONSTRAINT payments_stripe_checkout_session_key UNIQUE (stripe_checkout_session)
);
CREATE INDEX payments_user_idx ON payments (user_id);

CREATE TABLE stripe_events (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    received_at DATETIME NOT NULL
);

CREATE TABLE stripe_customers (
    customer_id TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    created_at  DATETIME NOT NULL
);
CREATE INDEX stripe_customers_user_idx ON stripe_customers (user_id);

-- +goose Down
DROP TABLE stripe_customers;
DROP TABLE stripe_events;
DROP TABLE payments;
DROP TABLE user_balances;
DROP TABLE referrals;
DROP TABLE referral_codes;
