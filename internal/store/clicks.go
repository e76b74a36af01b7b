package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
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
	return s.with(ctx).CreateInBatches(rows, 500).Error
}

// ClickStored reports whether a click with this id is stored.
func (s *Store) ClickStored(ctx context.Context, id string) (bool, error) {
	var n int64
	err := s.with(ctx).Model(&Click{}).Where("id = ?", id).Limit(1).Count(&n).Error
	return n > 0, err
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

// insertClicksPostgres writes the batch with COPY, through the driver on
// the transaction's connection: about half the server CPU per row of an
// INSERT over unnest()ed arrays, which matters at short-link volume.
func (s *Store) insertClicksPostgres(ctx context.Context, clicks []referral.Click) error {
	if s.conn == nil {
		return s.InTx(ctx, func(tx referral.Store) error { return tx.InsertClicks(ctx, clicks) })
	}
	return s.conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("insert clicks: unexpected driver connection %T", driverConn)
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{"clicks"}, clickColumns, &clickRows{clicks: clicks, i: -1})
		if err != nil {
			return fmt.Errorf("insert clicks: %w", err)
		}
		return nil
	})
}

var clickColumns = []string{"id", "code", "referrer_id", "visitor_hash", "is_unique", "referer",
	"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "created_at"}

// clickRows feeds clicks to COPY, one reused row of values at a time.
type clickRows struct {
	clicks []referral.Click
	i      int
	row    [12]any
}

func (r *clickRows) Next() bool { r.i++; return r.i < len(r.clicks) }

func (r *clickRows) Values() ([]any, error) {
	c := &r.clicks[r.i]
	r.row = [12]any{c.ID, c.Code, c.ReferrerID, c.VisitorHash, c.Unique, c.Referer,
		c.UTM[0], c.UTM[1], c.UTM[2], c.UTM[3], c.UTM[4], c.CreatedAt}
	return r.row[:], nil
}

func (r *clickRows) Err() error { return nil }
