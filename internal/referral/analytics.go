package referral

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Intervals of a time series.
const (
	IntervalDay   = "day"
	IntervalWeek  = "week"
	IntervalMonth = "month"
)

// maxBuckets bounds a time series so one request stays cheap.
const maxBuckets = 400

// ErrRangeInvalid means a date range or interval a client asked for is not usable.
var ErrRangeInvalid = errors.New("invalid date range")

// Bucket is one interval of a time series: what happened from Start (a UTC
// date) until the next bucket.
type Bucket struct {
	Start        string
	Clicks       int64
	UniqueClicks int64
	Signups      int64
	Qualified    int64
	// Rewards maps currency → rewards earned in the bucket (before refunds).
	Rewards map[string]int64
}

// bucketStart returns the first day of the bucket holding day.
func bucketStart(day time.Time, interval string) time.Time {
	switch interval {
	case IntervalWeek: // ISO weeks start on Monday
		return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	case IntervalMonth:
		return time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, time.UTC)
	default:
		return day
	}
}

func nextBucket(start time.Time, interval string) time.Time {
	switch interval {
	case IntervalWeek:
		return start.AddDate(0, 0, 7)
	case IntervalMonth:
		return start.AddDate(0, 1, 0)
	default:
		return start.AddDate(0, 0, 1)
	}
}

// TimeSeries returns a referrer's (or, with referrerID empty, the whole
// program's) counts per interval between the dates from and to, inclusive,
// every bucket present. It reads the daily counters: a few rows per day,
// whatever the volume.
func (s *Service) TimeSeries(ctx context.Context, referrerID string, from, to time.Time, interval string) ([]Bucket, error) {
	if interval != IntervalDay && interval != IntervalWeek && interval != IntervalMonth {
		return nil, fmt.Errorf("%w: interval must be day, week or month", ErrRangeInvalid)
	}
	from, to = dateOf(from), dateOf(to)
	if to.Before(from) {
		return nil, fmt.Errorf("%w: to is before from", ErrRangeInvalid)
	}
	var buckets []Bucket
	index := map[string]int{}
	for start := bucketStart(from, interval); !start.After(to); start = nextBucket(start, interval) {
		if len(buckets) == maxBuckets {
			return nil, fmt.Errorf("%w: more than %d %s buckets; narrow the range or widen the interval", ErrRangeInvalid, maxBuckets, interval)
		}
		index[Day(start)] = len(buckets)
		buckets = append(buckets, Bucket{Start: Day(start), Rewards: map[string]int64{}})
	}
	days, err := s.store.DailyRange(ctx, referrerID, Day(from), Day(to))
	if err != nil {
		return nil, fmt.Errorf("daily counts: %w", err)
	}
	at := func(day string) *Bucket {
		d, _ := time.Parse(time.DateOnly, day)
		return &buckets[index[Day(bucketStart(d, interval))]]
	}
	for _, d := range days {
		b := at(d.Day)
		b.Clicks += d.Clicks
		b.UniqueClicks += d.UniqueClicks
		b.Signups += d.Signups
		b.Qualified += d.Qualified
	}
	rewards, err := s.store.DailyRewardRange(ctx, referrerID, Day(from), Day(to))
	if err != nil {
		return nil, fmt.Errorf("daily rewards: %w", err)
	}
	for _, r := range rewards {
		at(r.Day).Rewards[r.Currency] += r.Amount
	}
	return buckets, nil
}

func dateOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Funnel is the program's conversion from clicks to rewards over a period.
type Funnel struct {
	Clicks, UniqueClicks, Signups, Qualified, Rewarded int64
	// Rewards maps currency → rewards earned in the period (before refunds).
	Rewards map[string]int64
}

// ProgramFunnel sums the program between the dates from and to, inclusive.
func (s *Service) ProgramFunnel(ctx context.Context, from, to time.Time) (Funnel, error) {
	from, to = dateOf(from), dateOf(to)
	if to.Before(from) {
		return Funnel{}, fmt.Errorf("%w: to is before from", ErrRangeInvalid)
	}
	f := Funnel{Rewards: map[string]int64{}}
	days, err := s.store.DailyRange(ctx, "", Day(from), Day(to))
	if err != nil {
		return Funnel{}, err
	}
	for _, d := range days {
		f.Clicks += d.Clicks
		f.UniqueClicks += d.UniqueClicks
		f.Signups += d.Signups
		f.Qualified += d.Qualified
	}
	rewards, err := s.store.DailyRewardRange(ctx, "", Day(from), Day(to))
	if err != nil {
		return Funnel{}, err
	}
	for _, r := range rewards {
		f.Rewards[r.Currency] += r.Amount
	}
	if f.Rewarded, err = s.store.CountRewarded(ctx, from, to.AddDate(0, 0, 1)); err != nil {
		return Funnel{}, err
	}
	return f, nil
}

// Leader is one referrer's results in a period.
type Leader struct {
	UserID                     string
	Clicks, Signups, Qualified int64
	Rewards                    map[string]int64
}

// Leaderboard ranks referrers by qualified referrals (then signups) since
// the date from.
func (s *Service) Leaderboard(ctx context.Context, from time.Time, limit int) ([]Leader, error) {
	leaders, err := s.store.TopReferrers(ctx, Day(from), limit)
	if err != nil {
		return nil, err
	}
	if len(leaders) == 0 {
		return leaders, nil
	}
	ids := make([]string, len(leaders))
	for i, l := range leaders {
		ids[i] = l.UserID
	}
	rewards, err := s.store.RewardsOf(ctx, ids, Day(from))
	if err != nil {
		return nil, err
	}
	for i := range leaders {
		leaders[i].Rewards = rewards[leaders[i].UserID]
		if leaders[i].Rewards == nil {
			leaders[i].Rewards = map[string]int64{}
		}
	}
	return leaders, nil
}

// Ratio is a/b rounded to four decimals, 0 when b is 0.
func Ratio(a, b int64) float64 { return ratio(a, b) }
