-- +goose Up
-- One payment, however many identifiers Stripe gives it: see the
-- PostgreSQL migration of the same version.
ALTER TABLE payment_locks RENAME TO payment_keys;
ALTER TABLE payment_keys ADD COLUMN payment_id TEXT REFERENCES payments (id);
CREATE INDEX payment_keys_payment_idx ON payment_keys (payment_id);

ALTER TABLE payments ADD COLUMN stripe_invoice_payment TEXT;
ALTER TABLE payments ADD COLUMN merged_into TEXT REFERENCES payments (id);
CREATE INDEX payments_unattributed_idx ON payments (stripe_customer) WHERE user_id = '';

INSERT INTO payment_keys (key, payment_id)
SELECT key, payment_id FROM (
    SELECT v.key AS key, v.id AS payment_id, ROW_NUMBER() OVER (PARTITION BY v.key ORDER BY v.created_at, v.id) AS n
    FROM (
        SELECT id AS key, id, created_at FROM payments
        UNION SELECT stripe_payment_intent, id, created_at FROM payments WHERE stripe_payment_intent IS NOT NULL
        UNION SELECT stripe_invoice, id, created_at FROM payments WHERE stripe_invoice IS NOT NULL
        UNION SELECT stripe_charge, id, created_at FROM payments WHERE stripe_charge IS NOT NULL
        UNION SELECT stripe_checkout_session, id, created_at FROM payments WHERE stripe_checkout_session IS NOT NULL
    ) AS v
) WHERE n = 1
ON CONFLICT (key) DO UPDATE SET payment_id = excluded.payment_id WHERE payment_keys.payment_id IS NULL;

ALTER TABLE refund_claims ADD COLUMN refund_status TEXT;

-- +goose Down
ALTER TABLE refund_claims DROP COLUMN refund_status;
DROP INDEX payments_unattributed_idx;
ALTER TABLE payments DROP COLUMN merged_into;
ALTER TABLE payments DROP COLUMN stripe_invoice_payment;
DROP INDEX payment_keys_payment_idx;
ALTER TABLE payment_keys DROP COLUMN payment_id;
ALTER TABLE payment_keys RENAME TO payment_locks;
