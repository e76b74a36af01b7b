package store

import (
	"context"
	"time"

	"github.com/refhub/referral-service/internal/referral"
)

// DailyRange sums the daily counters per day in [fromDay, toDay].
func (s *Store) DailyRange(ctx context.Context, referrerID, fromDay, toDay string) ([]referral.Daily, error) {
	q := s.with(ctx).Model(&ReferrerDaily{}).
		Select("day, SUM(clicks) AS clicks, SUM(unique_clicks) AS unique_clicks, SUM(signups) AS signups, SUM(qualified) AS qualified").
		Where("day >= ? AND day <= ?", fromDay, toDay)
	if referrerID != "" {
		q = q.Where("referrer_id = ?", referrerID)
	}
	var out []referral.Daily
	err := q.Group("day").Order("day").Find(&out).Error
	return out, err
}

// DailyRewardRange sums rewards per day and currency in [fromDay, toDay].
func (s *Store) DailyRewardRange(ctx context.Context, referrerID, fromDay, toDay string) ([]referral.DailyReward, error) {
	q := s.with(ctx).Model(&ReferrerDailyReward{}).Select("day, currency, SUM(amount) AS amount").
		Where("day >= ? AND day <= ?", fromDay, toDay)
	if referrerID != "" {
		q = q.Where("referrer_id = ?", referrerID)
	}
	var out []referral.DailyReward
	err := q.Group("day, currency").Order("day, currency").Find(&out).Error
	return out, err
}

// CountRewarded counts referrals paid out in [from, to).
func (s *Store) CountRewarded(ctx context.Context, from, to time.Time) (int64, error) {
	var n int64
	err := s.with(ctx).Model(&Referral{}).Where("reward_paid_at >= ? AND reward_paid_at < ?", from, to).Count(&n).Error
	return n, err
}

// TopReferrers ranks referrers since fromDay.
func (s *Store) TopReferrers(ctx context.Context, fromDay string, limit int) ([]referral.Leader, error) {
	var rows []struct {
		ReferrerID                 string
		Clicks, Signups, Qualified int64
	}
	err := s.with(ctx).Model(&ReferrerDaily{}).
		Select("referrer_id, SUM(clicks) AS clicks, SUM(signups) AS signups, SUM(qualified) AS qualified").
		Where("day >= ?", fromDay).Group("referrer_id").
		Having("SUM(signups) > 0 OR SUM(qualified) > 0").
		Order("qualified DESC, signups DESC, referrer_id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]referral.Leader, len(rows))
	for i, r := range rows {
		out[i] = referral.Leader{UserID: r.ReferrerID, Clicks: r.Clicks, Signups: r.Signups, Qualified: r.Qualified}
	}
	return out, nil
}

// RewardsOf sums rewards per user and currency since fromDay.
func (s *Store) RewardsOf(ctx context.Context, userIDs []string, fromDay string) (map[string]map[string]int64, error) {
	var rows []struct {
		ReferrerID, Currency string
		Amount               int64
	}
	err := s.with(ctx).Model(&ReferrerDailyReward{}).Select("referrer_id, currency, SUM(amount) AS amount").
		Where("referrer_id IN ? AND day >= ?", userIDs, fromDay).Group("referrer_id, currency").Find(&rows).Error
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]int64{}
	for _, r := range rows {
		if out[r.ReferrerID] == nil {
			out[r.ReferrerID] = map[string]int64{}
		}
		out[r.ReferrerID][r.Currency] = r.Amount
	}
	return out, nil
}
