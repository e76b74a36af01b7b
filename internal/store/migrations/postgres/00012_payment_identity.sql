-- +goose Up
-- One payment, however many identifiers Stripe gives it. payment_locks
-- becomes payment_keys: each identifier (our payment id, payment intent,
-- charge, invoice, invoice payment, checkout session) is still the row a
-- transaction locks, and now also says which payment it leads to. Keys
-- learned from any event, in any order, join the payment; two stored
-- payments that turn out to be one are merged (merged_into). A payment
-- whose user is not known yet is kept with user_id '' and qualifies when a
-- later event names the user.
ALTER TABLE payment_locks RENAME TO payment_keys;
ALTER TABLE payment_keys ADD COLUMN payment_id TEXT REFERENCES payments (id);
CREATE INDEX payment_keys_payment_idx ON payment_keys (payment_id);

ALTER TABLE payments ADD COLUMN stripe_invoice_payment TEXT;
ALTER TABLE payments ADD COLUMN merged_into TEXT REFERENCES payments (id);
CREATE INDEX payments_unattributed_idx ON payments (stripe_customer) WHERE user_id = '';

INSERT INTO payment_keys AS k (key, payment_id)
SELECT DISTINCT ON (v.key) v.key, p.id
FROM payments p
CROSS JOIN LATERAL (VALUES (p.id), (p.stripe_payment_intent), (p.stripe_invoice), (p.stripe_charge), (p.stripe_checkout_session)) AS v (key)
WHERE v.key IS NOT NULL
ORDER BY v.key, p.created_at, p.id
ON CONFLICT (key) DO UPDATE SET payment_id = excluded.payment_id WHERE k.payment_id IS NULL;

-- A Stripe refund's own state: pending and succeeded refunds count, failed
-- and canceled ones do not. NULL for refunds reported by a backend.
ALTER TABLE refund_claims ADD COLUMN refund_status TEXT;

-- +goose Down
ALTER TABLE refund_claims DROP COLUMN refund_status;
DROP INDEX payments_unattributed_idx;
ALTER TABLE payments DROP COLUMN merged_into;
ALTER TABLE payments DROP COLUMN stripe_invoice_payment;
DROP INDEX payment_keys_payment_idx;
ALTER TABLE payment_keys DROP COLUMN payment_id;
ALTER TABLE payment_keys RENAME TO payment_locks;
