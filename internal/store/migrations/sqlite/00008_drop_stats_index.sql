-- +goose Up
-- Stats by status read referrer_status_totals (00007) since the triggers
-- keep them; nothing reads this index any more, and every referral write
-- paid to maintain it.
DROP INDEX referrals_stats_idx;

-- +goose Down
CREATE INDEX referrals_stats_idx ON referrals (referrer_id, status, reward_currency, reward_amount);
