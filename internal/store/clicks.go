package store

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm/clause"

	"github.com/refhub/referral-service/internal/referral"
)

// On PostgreSQL a visitor's last unique click is kept in recent_visits
// under visitKey (migration 00011); SQLite keeps recent_visitors, keyed by
// referrer and visitor hash.

// visitKey is the 64-bit key of a referrer's visitor in recent_visits: the
// first 8 bytes of SHA-256(referrer id, NUL, visitor hash), read as a
// signed big-endian number. Migration 00011 computes the same in SQL.
func visitKey(v referral.Visitor, buf []byte) (int64, []byte) {
	buf = append(append(append(buf[:0], v.ReferrerID...), 0), v.VisitorHash...)
	sum := sha256.Sum256(buf)
	return int64(binary.BigEndian.Uint64(sum[:8])), buf
}

// keyedVisits is visits under their keys, for PostgreSQL's unnest(): one
// entry per key, keeping the earliest time (or the latest, when latest is
// set) should two visitors share a key.
type keyedVisits struct {
	keys    []int64
	times   []time.Time
	visitor map[int64]referral.Visitor
}

func keyVisits(visits map[referral.Visitor]time.Time, latest bool) keyedVisits {
	kv := keyedVisits{visitor: make(map[int64]referral.Visitor, len(visits))}
	at := make(map[int64]int, len(visits))
	var buf []byte
	for v, t := range visits {
		var k int64
		k, buf = visitKey(v, buf)
		if i, ok := at[k]; ok {
			if t.Before(kv.times[i]) != latest {
				kv.times[i], kv.visitor[k] = t.UTC(), v
			}
			continue
		}
		at[k] = len(kv.keys)
		kv.keys, kv.times, kv.visitor[k] = append(kv.keys, k), append(kv.times, t.UTC()), v
	}
	// In key order: two batches upserting the same visitors lock their rows
	// in the same order and cannot deadlock.
	order := make([]int, len(kv.keys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(kv.keys[a], kv.keys[b]) })
	keys, times := make([]int64, len(order)), make([]time.Time, len(order))
	for i, j := range order {
		keys[i], times[i] = kv.keys[j], kv.times[j]
	}
	kv.keys, kv.times = keys, times
	return kv
}

// RecentVisitors returns the last unique click, if at or after since, of
// each of the visitors.
func (s *Store) RecentVisitors(ctx context.Context, visitors []referral.Visitor, since time.Time) (map[referral.Visitor]time.Time, error) {
	out := make(map[referral.Visitor]time.Time)
	if len(visitors) == 0 {
		return out, nil
	}
	if s.dialect == Postgres {
		return out, s.recentVisitsPostgres(ctx, visitors, since, out)
	}
	refs, hashes := map[string]bool{}, map[string]bool{}
	for _, v := range visitors {
		refs[v.ReferrerID], hashes[v.VisitorHash] = true, true
	}
	var rows []RecentVisitor
	err := s.with(ctx).Where("referrer_id IN ? AND visitor_hash IN ? AND last_unique_at >= ?", keys(refs), keys(hashes), since.UTC()).
		Find(&rows).Error
	if err != nil {
		return nil, err
	}
	wanted := make(map[referral.Visitor]bool, len(visitors))
	for _, v := range visitors {
		wanted[v] = true
	}
	for _, r := range rows {
		k := referral.Visitor{ReferrerID: r.ReferrerID, VisitorHash: r.VisitorHash}
		if wanted[k] { // the IN lists also match across pairs
			out[k] = r.LastUniqueAt.UTC()
		}
	}
	return out, nil
}

// recentVisitsPostgres probes recent_visits by key for each visitor, in
// one statement, and fills out.
func (s *Store) recentVisitsPostgres(ctx context.Context, visitors []referral.Visitor, since time.Time, out map[referral.Visitor]time.Time) error {
	byKey := make(map[int64][]referral.Visitor, len(visitors))
	list := make([]int64, 0, len(visitors))
	var buf []byte
	for _, v := range visitors {
		var k int64
		k, buf = visitKey(v, buf)
		if _, ok := byKey[k]; !ok {
			list = append(list, k)
		}
		byKey[k] = append(byKey[k], v)
	}
	pool, err := s.rawConn()
	if err != nil {
		return err
	}
	// Planned for each batch (pgx's unnamed statement), since the table's
	// size swings; the primary key answers each probe.
	rs, err := pool.QueryContext(ctx, `SELECT visit_key, last_unique_at FROM recent_visits
		WHERE visit_key = ANY($1::bigint[]) AND last_unique_at >= $2`, pgx.QueryExecModeCacheDescribe, list, since.UTC())
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var k int64
		var at time.Time
		if err := rs.Scan(&k, &at); err != nil {
			return err
		}
		for _, v := range byKey[k] {
			out[v] = at.UTC()
		}
	}
	return rs.Err()
}

// ClaimUniqueVisits records, for each visitor, at as their last unique
// click if they had none in the window before it, and reports those it
// recorded. On PostgreSQL this is one conditional upsert: a visitor seen
// at the same time by two transactions is claimed by one of them.
func (s *Store) ClaimUniqueVisits(ctx context.Context, visits map[referral.Visitor]time.Time, window time.Duration) (map[referral.Visitor]bool, error) {
	claimed := make(map[referral.Visitor]bool)
	if len(visits) == 0 {
		return claimed, nil
	}
	if s.dialect != Postgres {
		// SQLite has one writer at a time: read, decide, write.
		list := make([]referral.Visitor, 0, len(visits))
		earliest := time.Time{}
		for v, at := range visits {
			list = append(list, v)
			if earliest.IsZero() || at.Before(earliest) {
				earliest = at
			}
		}
		last, err := s.RecentVisitors(ctx, list, earliest.Add(-window))
		if err != nil {
			return nil, err
		}
		won := make(map[referral.Visitor]time.Time)
		for v, at := range visits {
			if t, ok := last[v]; !ok || at.Sub(t) >= window {
				claimed[v], won[v] = true, at
			}
		}
		return claimed, s.NoteUniqueVisits(ctx, won)
	}
	kv := keyVisits(visits, false)
	pool, err := s.rawConn()
	if err != nil {
		return nil, err
	}
	rs, err := pool.QueryContext(ctx, `INSERT INTO recent_visits AS r (visit_key, last_unique_at)
		SELECT * FROM unnest($1::bigint[], $2::timestamptz[])
		ON CONFLICT (visit_key) DO UPDATE SET last_unique_at = excluded.last_unique_at
		WHERE r.last_unique_at <= excluded.last_unique_at - $3 * interval '1 microsecond'
		RETURNING r.visit_key`, kv.keys, kv.times, window.Microseconds())
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	for rs.Next() {
		var k int64
		if err := rs.Scan(&k); err != nil {
			return nil, err
		}
		claimed[kv.visitor[k]] = true
	}
	return claimed, rs.Err()
}

// NoteUniqueVisits records each visitor's latest unique click (an earlier
// time never replaces a later one).
func (s *Store) NoteUniqueVisits(ctx context.Context, visits map[referral.Visitor]time.Time) error {
	if len(visits) == 0 {
		return nil
	}
	if s.dialect == Postgres {
		kv := keyVisits(visits, true)
		pool, err := s.rawConn()
		if err != nil {
			return err
		}
		_, err = pool.ExecContext(ctx, `INSERT INTO recent_visits (visit_key, last_unique_at)
			SELECT * FROM unnest($1::bigint[], $2::timestamptz[])
			ON CONFLICT (visit_key)
			DO UPDATE SET last_unique_at = GREATEST(recent_visits.last_unique_at, excluded.last_unique_at)`,
			kv.keys, kv.times)
		return err
	}
	rows := make([]RecentVisitor, 0, len(visits))
	for v, at := range visits {
		rows = append(rows, RecentVisitor{ReferrerID: v.ReferrerID, VisitorHash: v.VisitorHash, LastUniqueAt: at.UTC()})
	}
	return s.with(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "referrer_id"}, {Name: "visitor_hash"}},
		DoUpdates: clause.Assignments(map[string]any{
			"last_unique_at": clause.Expr{SQL: "MAX(recent_visitors.last_unique_at, excluded.last_unique_at)"},
		}),
	}).CreateInBatches(rows, 300).Error
}

// PruneRecentVisitors forgets visitors whose last unique click is before
// before. On PostgreSQL this scans recent_visits, which has no index on
// the time: call it every few minutes, not for every batch.
func (s *Store) PruneRecentVisitors(ctx context.Context, before time.Time) error {
	if s.dialect == Postgres {
		pool, err := s.rawConn()
		if err != nil {
			return err
		}
		_, err = pool.ExecContext(ctx, `DELETE FROM recent_visits WHERE last_unique_at < $1`, before.UTC())
		return err
	}
	return s.with(ctx).Where("last_unique_at < ?", before.UTC()).Delete(&RecentVisitor{}).Error
}

// sqlConn is GORM's connection (a *sql.Tx inside transactions) used
// directly, so that slices reach the driver as PostgreSQL arrays: GORM
// would expand them into a placeholder per element.
type sqlConn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// rawConn returns GORM's connection (the transaction's, inside one) for direct use.
func (s *Store) rawConn() (sqlConn, error) {
	pool, ok := s.db.Statement.ConnPool.(sqlConn)
	if !ok {
		return nil, fmt.Errorf("unexpected connection type %T", s.db.Statement.ConnPool)
	}
	return pool, nil
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

// MarkClickBatch records that the batch starting with firstClickID is
// stored; false if it already was.
func (s *Store) MarkClickBatch(ctx context.Context, firstClickID string, at time.Time) (bool, error) {
	res := s.with(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&ClickBatch{FirstClickID: firstClickID, CreatedAt: at.UTC()})
	return res.RowsAffected == 1, res.Error
}

// PruneClickBatches forgets batches marked before before.
func (s *Store) PruneClickBatches(ctx context.Context, before time.Time) error {
	return s.with(ctx).Where("created_at < ?", before.UTC()).Delete(&ClickBatch{}).Error
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
		Where("referrer_id = ?", referrerID).Find(&d).Error
	return d, err
}

// insertClicksPostgres writes the batch with a binary COPY on the
// transaction's connection, encoded here without a value per column boxed
// and looked up: at short-link volume this is most of the click cost, and
// COPY needs about half the server CPU per row of an INSERT over unnest().
// The text values are valid UTF-8 (codes, ids, hashes, and cleaned
// request values), which the server checks.
func (s *Store) insertClicksPostgres(ctx context.Context, clicks []referral.Click) error {
	if s.conn == nil {
		return s.InTx(ctx, func(tx referral.Store) error { return tx.InsertClicks(ctx, clicks) })
	}
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	var stmt string
	*buf, stmt = encodeClicks((*buf)[:0], clicks)
	return s.conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("insert clicks: unexpected driver connection %T", driverConn)
		}
		if _, err := c.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(*buf), stmt); err != nil {
			return fmt.Errorf("insert clicks: %w", err)
		}
		return nil
	})
}

// optionalClickColumns are the click columns that are often empty: a batch
// leaves out those empty in all its clicks (they default to empty text),
// which saves the server decoding them row by row.
var optionalClickColumns = [6]string{"referer", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"}

var copyBuffers = sync.Pool{New: func() any { return new([]byte) }}

// pgEpoch is where PostgreSQL's binary timestamps count microseconds from.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// encodeClicks writes clicks in PostgreSQL's binary COPY format (a
// signature and header, per row a field count and length-prefixed fields,
// and a trailer) and returns the COPY statement naming its columns.
func encodeClicks(b []byte, clicks []referral.Click) ([]byte, string) {
	optional := func(c *referral.Click, i int) string {
		if i == 0 {
			return c.Referer
		}
		return c.UTM[i-1]
	}
	var used [len(optionalClickColumns)]bool
	fields := uint16(6)
	cols := "id, code, referrer_id, visitor_hash, is_unique, created_at"
	for i, name := range optionalClickColumns {
		for j := range clicks {
			if optional(&clicks[j], i) != "" {
				used[i] = true
				fields++
				cols += ", " + name
				break
			}
		}
	}
	b = append(b, "PGCOPY\n\xff\r\n\x00"...)
	b = binary.BigEndian.AppendUint32(b, 0) // flags
	b = binary.BigEndian.AppendUint32(b, 0) // header extension length
	text := func(b []byte, v string) []byte {
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		return append(b, v...)
	}
	for i := range clicks {
		c := &clicks[i]
		b = binary.BigEndian.AppendUint16(b, fields)
		b = text(b, c.ID)
		b = text(b, c.Code)
		b = text(b, c.ReferrerID)
		b = text(b, c.VisitorHash)
		b = binary.BigEndian.AppendUint32(b, 1)
		if c.Unique {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
		b = binary.BigEndian.AppendUint32(b, 8)
		b = binary.BigEndian.AppendUint64(b, uint64(c.CreatedAt.Sub(pgEpoch).Microseconds()))
		for j, ok := range used {
			if ok {
				b = text(b, optional(c, j))
			}
		}
	}
	b = binary.BigEndian.AppendUint16(b, 0xffff) // trailer: -1
	return b, "COPY clicks (" + cols + ") FROM STDIN (FORMAT binary)"
}
