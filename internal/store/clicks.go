package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"github.com/refhub/referral-service/internal/referral"
)

// LastUniqueClicks returns the latest unique click since since per referrer
// and visitor among the batch's pairs.
func (s *Store) LastUniqueClicks(ctx context.Context, clicks []referral.Click, since time.Time) (map[string]time.Time, error) {
	referrers := map[string]bool{}
	visitors := map[string]bool{}
	for _, c := range clicks {
		referrers[c.ReferrerID], visitors[c.VisitorHash] = true, true
	}
	// Plain rows, not MAX(): an aggregate loses the column type on SQLite.
	var rows []struct {
		ReferrerID  string
		VisitorHash string
		CreatedAt   time.Time
	}
	err := s.with(ctx).Model(&Click{}).Select("referrer_id, visitor_hash, created_at").
		Where("referrer_id IN ? AND visitor_hash IN ? AND is_unique AND created_at >= ?", keys(referrers), keys(visitors), since).
		Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		k := r.ReferrerID + "\x00" + r.VisitorHash
		if t := r.CreatedAt.UTC(); t.After(out[k]) {
			out[k] = t
		}
	}
	return out, nil
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// InsertClicks writes a batch of clicks.
func (s *Store) InsertClicks(ctx context.Context, clicks []referral.Click) error {
	if s.dialect == Postgres {
		return s.insertClicksPostgres(ctx, clicks)
	}
	rows := make([]Click, len(clicks))
	for i, c := range clicks {
		rows[i] = Click{
			ID: c.ID, Code: c.Code, ReferrerID: c.ReferrerID, VisitorHash: c.VisitorHash, IsUnique: c.Unique,
			Referer: c.Referer, UtmSource: c.UTM[0], UtmMedium: c.UTM[1],
			UtmCampaign: c.UTM[2], UtmTerm: c.UTM[3], UtmContent: c.UTM[4],
			CreatedAt: c.CreatedAt,
		}
	}
	// Idempotent: a batch retried after an ambiguous failure inserts nothing twice.
	return s.with(ctx).Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(rows, 500).Error
}

// AddDaily adds counts to a referrer's day.
func (s *Store) AddDaily(ctx context.Context, referrerID, day string, d referral.Daily) error {
	row := ReferrerDaily{ReferrerID: referrerID, Day: day, Clicks: d.Clicks, UniqueClicks: d.UniqueClicks, Signups: d.Signups, Qualified: d.Qualified}
	return s.with(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "referrer_id"}, {Name: "day"}},
		DoUpdates: clause.Assignments(map[string]any{
			"clicks":        clause.Expr{SQL: "referrer_daily.clicks + excluded.clicks"},
			"unique_clicks": clause.Expr{SQL: "referrer_daily.unique_clicks + excluded.unique_clicks"},
			"signups":       clause.Expr{SQL: "referrer_daily.signups + excluded.signups"},
			"qualified":     clause.Expr{SQL: "referrer_daily.qualified + excluded.qualified"},
		}),
	}).Create(&row).Error
}

// AddDailyReward adds to a referrer's rewards of a day in a currency.
func (s *Store) AddDailyReward(ctx context.Context, referrerID, day, currency string, amount int64) error {
	row := ReferrerDailyReward{ReferrerID: referrerID, Day: day, Currency: currency, Amount: amount}
	return s.with(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "referrer_id"}, {Name: "day"}, {Name: "currency"}},
		DoUpdates: clause.Assignments(map[string]any{"amount": clause.Expr{SQL: "referrer_daily_rewards.amount + excluded.amount"}}),
	}).Create(&row).Error
}

// DailyTotals sums a referrer's counters over all days: one row per active
// day is read, whatever the number of clicks and referrals.
func (s *Store) DailyTotals(ctx context.Context, referrerID string) (referral.Daily, error) {
	var d referral.Daily
	err := s.with(ctx).Model(&ReferrerDaily{}).
		Select("COALESCE(SUM(clicks), 0) AS clicks, COALESCE(SUM(unique_clicks), 0) AS unique_clicks, COALESCE(SUM(signups), 0) AS signups, COALESCE(SUM(qualified), 0) AS qualified").
		Where("referrer_id = ?", referrerID).Scan(&d).Error
	return d, err
}

// execer is the part of GORM's connection (a *sql.Tx inside transactions)
// that runs a statement with driver-level arguments.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// insertClicksPostgres writes the batch as one INSERT over unnest()ed
// arrays: twelve parameters whatever the batch size, so PostgreSQL parses
// and plans one small statement instead of thousands of placeholders.
func (s *Store) insertClicksPostgres(ctx context.Context, clicks []referral.Click) error {
	n := len(clicks)
	cols := make([][]string, 11)
	for i := range cols {
		cols[i] = make([]string, n)
	}
	unique := make([]bool, n)
	at := make([]time.Time, n)
	for i, c := range clicks {
		vals := []string{c.ID, c.Code, c.ReferrerID, c.VisitorHash, c.Referer,
			c.UTM[0], c.UTM[1], c.UTM[2], c.UTM[3], c.UTM[4]}
		for j, v := range vals {
			cols[j][i] = v
		}
		unique[i], at[i] = c.Unique, c.CreatedAt
	}
	ex, ok := s.db.Statement.ConnPool.(execer)
	if !ok {
		return fmt.Errorf("insert clicks: connection cannot execute raw statements")
	}
	_, err := ex.ExecContext(ctx, `INSERT INTO clicks (id, code, referrer_id, visitor_hash, referer, utm_source, utm_medium,
		utm_campaign, utm_term, utm_content, is_unique, created_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
		                     $8::text[], $9::text[], $10::text[], $11::boolean[], $12::timestamptz[])
		ON CONFLICT (id) DO NOTHING`,
		cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7], cols[8], cols[9], unique, at)
	if err != nil {
		return fmt.Errorf("insert clicks: %w", err)
	}
	return nil
}
