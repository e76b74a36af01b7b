-- +goose Up
-- The promotion code of one referrer code on its program's coupon (a
-- program whose discount is per referrer code): created at Stripe outside
-- any transaction, then recorded here once; a new coupon (the discount
-- changed) gets new rows.
CREATE TABLE code_promotions (
    code_id                  TEXT NOT NULL REFERENCES referral_codes (id),
    coupon_id                TEXT NOT NULL,
    stripe_promotion_code_id TEXT NOT NULL,
    promotion_code           TEXT NOT NULL,
    created_at               DATETIME NOT NULL,
    PRIMARY KEY (code_id, coupon_id)
);

-- +goose Down
DROP TABLE code_promotions;
