package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm/clause"

	"github.com/refhub/referral-service/internal/referral"
)

// RecentVisitors returns the last unique click, if at or after since, of
// each of the visitors.
func (s *Store) RecentVisitors(ctx context.Context, visitors []referral.Visitor, since time.Time) (map[referral.Visitor]time.Time, error) {
	out := make(map[referral.Visitor]time.Time)
	if len(visitors) == 0 {
		return out, nil
	}
	var rows []RecentVisitor
	var err error
	if s.dialect == Postgres {
		// The visitors as one pair of arrays, each probed by primary key:
		// one statement whatever their number.
		refs, hashes := make([]string, len(visitors)), make([]string, len(visitors))
		for i, v := range visitors {
			refs[i], hashes[i] = v.ReferrerID, v.VisitorHash
		}
		rows, err = s.recentVisitorsPostgres(ctx, refs, hashes, since)
	} else {
		refs, hashes := map[string]bool{}, map[string]bool{}
		for _, v := range visitors {
			refs[v.ReferrerID], hashes[v.VisitorHash] = true, true
		}
		err = s.with(ctx).Where("referrer_id IN ? AND visitor_hash IN ? AND last_unique_at >= ?", keys(refs), keys(hashes), since.UTC()).
			Find(&rows).Error
	}
	if err != nil {
		return nil, err
	}
	wanted := make(map[referral.Visitor]bool, len(visitors))
	for _, v := range visitors {
		wanted[v] = true
	}
	for _, r := range rows {
		k := referral.Visitor{ReferrerID: r.ReferrerID, VisitorHash: r.VisitorHash}
		if wanted[k] { // SQLite's IN lists also match across pairs
			out[k] = r.LastUniqueAt.UTC()
		}
	}
	return out, nil
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
	refs, hashes, times := visitArrays(visits)
	pool, err := s.rawConn()
	if err != nil {
		return nil, err
	}
	rs, err := pool.QueryContext(ctx, `INSERT INTO recent_visitors AS r (referrer_id, visitor_hash, last_unique_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
		ON CONFLICT (referrer_id, visitor_hash) DO UPDATE SET last_unique_at = excluded.last_unique_at
		WHERE r.last_unique_at <= excluded.last_unique_at - $4 * interval '1 microsecond'
		RETURNING r.referrer_id, r.visitor_hash`, refs, hashes, times, window.Microseconds())
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	for rs.Next() {
		var v referral.Visitor
		if err := rs.Scan(&v.ReferrerID, &v.VisitorHash); err != nil {
			return nil, err
		}
		claimed[v] = true
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
		refs, hashes, times := visitArrays(visits)
		pool, err := s.rawConn()
		if err != nil {
			return err
		}
		_, err = pool.ExecContext(ctx, `INSERT INTO recent_visitors (referrer_id, visitor_hash, last_unique_at)
			SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
			ON CONFLICT (referrer_id, visitor_hash)
			DO UPDATE SET last_unique_at = GREATEST(recent_visitors.last_unique_at, excluded.last_unique_at)`,
			refs, hashes, times)
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

// PruneRecentVisitors forgets visitors whose last unique click is before before.
func (s *Store) PruneRecentVisitors(ctx context.Context, before time.Time) error {
	if s.dialect == Postgres {
		pool, err := s.rawConn()
		if err != nil {
			return err
		}
		// Planned each time, like the lookup: the table's size swings.
		_, err = pool.ExecContext(ctx, `DELETE FROM recent_visitors WHERE last_unique_at < $1`, pgx.QueryExecModeCacheDescribe, before.UTC())
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

// visitArrays splits visits into parallel arrays, the parameters of unnest().
func visitArrays(visits map[referral.Visitor]time.Time) (refs, hashes []string, times []time.Time) {
	for v, at := range visits {
		refs, hashes, times = append(refs, v.ReferrerID), append(hashes, v.VisitorHash), append(times, at.UTC())
	}
	return refs, hashes, times
}

// recentVisitorsPostgres probes recent_visitors for the pairs (refs[i],
// hashes[i]) by primary key: one statement, two array parameters.
func (s *Store) recentVisitorsPostgres(ctx context.Context, refs, hashes []string, since time.Time) ([]RecentVisitor, error) {
	pool, err := s.rawConn()
	if err != nil {
		return nil, err
	}
	// One primary-key probe per pair, whatever the statistics say: as a
	// plain join the planner may hash the whole table instead (40 ms a
	// batch and growing with every click from a new visitor). The LIMIT
	// keeps the subquery from being flattened into such a join; the key
	// allows one row anyway. Planned for each batch (pgx's unnamed
	// statement), since the table's size swings.
	rs, err := pool.QueryContext(ctx, `SELECT p.referrer_id, p.visitor_hash, r.last_unique_at
		FROM unnest($1::text[], $2::text[]) AS p(referrer_id, visitor_hash)
		CROSS JOIN LATERAL (
			SELECT last_unique_at FROM recent_visitors
			WHERE referrer_id = p.referrer_id AND visitor_hash = p.visitor_hash AND last_unique_at >= $3
			LIMIT 1) r`, pgx.QueryExecModeCacheDescribe, refs, hashes, since.UTC())
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []RecentVisitor
	for rs.Next() {
		var r RecentVisitor
		if err := rs.Scan(&r.ReferrerID, &r.VisitorHash, &r.LastUniqueAt); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rs.Err()
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
		Where("referrer_id = ?", referrerID).Scan(&d).Error
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
