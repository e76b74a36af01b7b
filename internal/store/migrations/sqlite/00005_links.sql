-- +goose Up
-- Links, clicks and analytics.

-- Every code a user has had (generated or vanity) keeps resolving to them.
CREATE TABLE code_aliases (
    code             TEXT PRIMARY KEY,
    referral_code_id TEXT NOT NULL REFERENCES referral_codes (id),
    user_id          TEXT NOT NULL,
    created_at       DATETIME NOT NULL
);
CREATE INDEX code_aliases_code_id_idx ON code_aliases (referral_code_id);
INSERT INTO code_aliases (code, referral_code_id, user_id, created_at)
SELECT code, id, user_id, created_at FROM referral_codes;

-- One row per counted click of a short link. No raw IP: visitor_hash is a
-- keyed hash of IP and user agent, enough to tell repeat visits apart.
CREATE TABLE clicks (
    id           TEXT PRIMARY KEY,
    code         TEXT NOT NULL,
    referrer_id  TEXT NOT NULL,
    visitor_hash TEXT NOT NULL,
    is_unique    BOOLEAN NOT NULL,
    referer      TEXT NOT NULL DEFAULT '',
    utm_source   TEXT NOT NULL DEFAULT '',
    utm_medium   TEXT NOT NULL DEFAULT '',
    utm_campaign TEXT NOT NULL DEFAULT '',
    utm_term     TEXT NOT NULL DEFAULT '',
    utm_content  TEXT NOT NULL DEFAULT '',
    created_at   DATETIME NOT NULL
);
CREATE INDEX clicks_visitor_idx ON clicks (referrer_id, visitor_hash, created_at);

ALTER TABLE referrals ADD COLUMN click_id TEXT;
ALTER TABLE referrals ADD COLUMN clicked_at DATETIME;

-- Daily counters per referrer (day = UTC date, YYYY-MM-DD), written in the
-- same transaction as what they count.
CREATE TABLE referrer_daily (
    referrer_id   TEXT NOT NULL,
    day           TEXT NOT NULL,
    clicks        INTEGER NOT NULL DEFAULT 0,
    unique_clicks INTEGER NOT NULL DEFAULT 0,
    signups       INTEGER NOT NULL DEFAULT 0,
    qualified     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (referrer_id, day)
);
CREATE INDEX referrer_daily_day_idx ON referrer_daily (day);

CREATE TABLE referrer_daily_rewards (
    referrer_id TEXT NOT NULL,
    day         TEXT NOT NULL,
    currency    TEXT NOT NULL,
    amount      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (referrer_id, day, currency)
);
CREATE INDEX referrer_daily_rewards_day_idx ON referrer_daily_rewards (day);

INSERT INTO referrer_daily (referrer_id, day, signups)
SELECT referrer_id, substr(created_at, 1, 10), COUNT(*)
FROM referrals GROUP BY 1, 2;
INSERT INTO referrer_daily (referrer_id, day, qualified)
SELECT referrer_id, substr(qualified_at, 1, 10), COUNT(*)
FROM referrals WHERE qualified_at IS NOT NULL GROUP BY 1, 2
ON CONFLICT (referrer_id, day) DO UPDATE SET qualified = excluded.qualified;
INSERT INTO referrer_daily_rewards (referrer_id, day, currency, amount)
SELECT referrer_id, substr(created_at, 1, 10), currency, SUM(amount)
FROM rewards GROUP BY 1, 2, 3;

-- Stats by status read only this index.
CREATE INDEX referrals_stats_idx ON referrals (referrer_id, status, reward_currency, reward_amount);
CREATE INDEX referrals_paid_idx ON referrals (reward_paid_at);

-- +goose Down
DROP INDEX referrals_paid_idx;
DROP INDEX referrals_stats_idx;
DROP TABLE referrer_daily_rewards;
DROP TABLE referrer_daily;
ALTER TABLE referrals DROP COLUMN clicked_at;
ALTER TABLE referrals DROP COLUMN click_id;
DROP TABLE clicks;
DROP TABLE code_aliases;
