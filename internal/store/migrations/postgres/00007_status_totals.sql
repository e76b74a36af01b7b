-- +goose Up
-- Stats by status per referrer, kept by triggers in the same transaction as
-- every change of a referral, whichever code path makes it: the dashboard
-- reads a few rows whatever the number of referrals.
CREATE TABLE referrer_status_totals (
    referrer_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    currency    TEXT NOT NULL DEFAULT '',
    count       BIGINT NOT NULL DEFAULT 0,
    reward      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (referrer_id, status, currency)
);

INSERT INTO referrer_status_totals (referrer_id, status, currency, count, reward)
SELECT referrer_id, status, COALESCE(reward_currency, ''), COUNT(*), COALESCE(SUM(reward_amount), 0)
FROM referrals GROUP BY 1, 2, 3;

-- +goose StatementBegin
CREATE FUNCTION referrals_status_totals() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO referrer_status_totals AS t (referrer_id, status, currency, count, reward)
        VALUES (OLD.referrer_id, OLD.status, COALESCE(OLD.reward_currency, ''), -1, -COALESCE(OLD.reward_amount, 0))
        ON CONFLICT (referrer_id, status, currency)
        DO UPDATE SET count = t.count + excluded.count, reward = t.reward + excluded.reward;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO referrer_status_totals AS t (referrer_id, status, currency, count, reward)
        VALUES (NEW.referrer_id, NEW.status, COALESCE(NEW.reward_currency, ''), 1, COALESCE(NEW.reward_amount, 0))
        ON CONFLICT (referrer_id, status, currency)
        DO UPDATE SET count = t.count + excluded.count, reward = t.reward + excluded.reward;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER referrals_status_totals
AFTER INSERT OR DELETE OR UPDATE OF status, reward_amount, reward_currency, referrer_id ON referrals
FOR EACH ROW EXECUTE FUNCTION referrals_status_totals();

-- +goose Down
DROP TRIGGER referrals_status_totals ON referrals;
DROP FUNCTION referrals_status_totals();
DROP TABLE referrer_status_totals;
