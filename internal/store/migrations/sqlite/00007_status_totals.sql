-- +goose Up
-- Stats by status per referrer, kept by triggers in the same transaction as
-- every change of a referral, whichever code path makes it: the dashboard
-- reads a few rows whatever the number of referrals.
CREATE TABLE referrer_status_totals (
    referrer_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    currency    TEXT NOT NULL DEFAULT '',
    count       INTEGER NOT NULL DEFAULT 0,
    reward      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (referrer_id, status, currency)
);

INSERT INTO referrer_status_totals (referrer_id, status, currency, count, reward)
SELECT referrer_id, status, COALESCE(reward_currency, ''), COUNT(*), COALESCE(SUM(reward_amount), 0)
FROM referrals WHERE true GROUP BY 1, 2, 3;

-- +goose StatementBegin
CREATE TRIGGER referrals_status_totals_insert AFTER INSERT ON referrals
BEGIN
    INSERT INTO referrer_status_totals (referrer_id, status, currency, count, reward)
    VALUES (NEW.referrer_id, NEW.status, COALESCE(NEW.reward_currency, ''), 1, COALESCE(NEW.reward_amount, 0))
    ON CONFLICT (referrer_id, status, currency)
    DO UPDATE SET count = count + excluded.count, reward = reward + excluded.reward;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER referrals_status_totals_update AFTER UPDATE OF status, reward_amount, reward_currency, referrer_id ON referrals
BEGIN
    INSERT INTO referrer_status_totals (referrer_id, status, currency, count, reward)
    VALUES (OLD.referrer_id, OLD.status, COALESCE(OLD.reward_currency, ''), -1, -COALESCE(OLD.reward_amount, 0))
    ON CONFLICT (referrer_id, status, currency)
    DO UPDATE SET count = count + excluded.count, reward = reward + excluded.reward;
    INSERT INTO referrer_status_totals (referrer_id, status, currency, count, reward)
    VALUES (NEW.referrer_id, NEW.status, COALESCE(NEW.reward_currency, ''), 1, COALESCE(NEW.reward_amount, 0))
    ON CONFLICT (referrer_id, status, currency)
    DO UPDATE SET count = count + excluded.count, reward = reward + excluded.reward;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER referrals_status_totals_delete AFTER DELETE ON referrals
BEGIN
    INSERT INTO referrer_status_totals (referrer_id, status, currency, count, reward)
    VALUES (OLD.referrer_id, OLD.status, COALESCE(OLD.reward_currency, ''), -1, -COALESCE(OLD.reward_amount, 0))
    ON CONFLICT (referrer_id, status, currency)
    DO UPDATE SET count = count + excluded.count, reward = reward + excluded.reward;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER referrals_status_totals_delete;
DROP TRIGGER referrals_status_totals_update;
DROP TRIGGER referrals_status_totals_insert;
DROP TABLE referrer_status_totals;
