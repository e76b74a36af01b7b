package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"time"

	"github.com/glebarez/go-sqlite"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/refhub/referral-service/internal/referral"
)

// failure says what kind of error a database call ended with, for retries.
type failure int

const (
	// final errors are answers: retrying gives the same one.
	final failure = iota
	// conflict is a deadlock or serialization failure: the other
	// transaction won, and running this one again will see its result.
	conflict
	// connection is a lost or refused connection, or a server shutting
	// down: the database may be back a moment later.
	connection
)

// classify tells retryable errors from answers. Context errors are final:
// the caller's deadline or cancellation ends the work.
func classify(err error) failure {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return final
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		switch liteErr.Code() & 0xff {
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED: another process holds the file
			return conflict
		}
		return final
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return conflict
		case "57014": // query_canceled: by the caller's deadline (then final below), or by an operator
			return connection
		case "57P01", "57P02", "57P03", "53300", // admin/crash shutdown, cannot connect now, too many connections
			"08000", "08001", "08003", "08004", "08006", "08007": // connection exceptions
			return connection
		}
		return final
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case pgconn.SafeToRetry(err), errors.As(err, &connectErr), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone), errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &netErr),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE):
		return connection
	}
	return final
}

// unavailableError marks an error as the database being out of reach (or
// too slow for the caller's deadline): referral.ErrUnavailable, which the
// HTTP layer answers with 503 and Retry-After.
type unavailableError struct{ err error }

func (e unavailableError) Error() string   { return "database unavailable: " + e.err.Error() }
func (e unavailableError) Unwrap() []error { return []error{referral.ErrUnavailable, e.err} }

// unavailable wraps err when it means the database could not be reached in time.
func unavailable(err error) error {
	if err == nil || errors.Is(err, referral.ErrUnavailable) {
		return err
	}
	if classify(err) == connection || errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return unavailableError{err}
	}
	return err
}

// Retry limits: conflicts are a safety net (every money path takes its locks
// in one order), so a few attempts; a lost connection is retried until the
// caller's deadline, as a restarting database comes back within seconds.
const (
	maxConflictAttempts   = 5
	maxConnectionAttempts = 50
	firstPause            = 10 * time.Millisecond
	maxPause              = 500 * time.Millisecond
)

// retry runs work until it succeeds, fails with an answer, or ctx ends. A
// lost connection also drops the pool's idle connections: after a restart or
// failover they are all dead, and each would otherwise fail one request.
// Work the caller's deadline ended (whatever error the driver made of it: a
// cancelled statement, a transaction rolled back under it) is unavailable.
func (s *Store) retry(ctx context.Context, work func() error) error {
	pause := firstPause
	for attempt := 1; ; attempt++ {
		err := work()
		if err != nil && ctx.Err() != nil {
			return unavailableError{err}
		}
		kind := classify(err)
		if kind == final ||
			(kind == conflict && attempt >= maxConflictAttempts) || (kind == connection && attempt >= maxConnectionAttempts) {
			return unavailable(err)
		}
		if kind == connection {
			s.dropIdleConnections()
		}
		// Full jitter keeps retrying transactions from meeting again.
		wait := time.Duration(rand.Int64N(int64(pause))) + time.Millisecond
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return unavailable(err)
		}
		select {
		case <-ctx.Done():
			return unavailable(err)
		case <-time.After(wait):
		}
		pause = min(2*pause, maxPause)
	}
}

// dropIdleConnections closes the pools' idle connections.
func (s *Store) dropIdleConnections() {
	if s.dialect != Postgres {
		return
	}
	for _, db := range []*gorm.DB{s.db, s.txdb} {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.SetMaxIdleConns(0)
			sqlDB.SetMaxIdleConns(maxIdleConns)
		}
	}
}

// retryReads makes every read outside a transaction retry a lost
// connection or a conflict, by wrapping GORM's query and row callbacks: a
// read is safe to repeat. Reads inside a transaction are not retried here;
// InTx runs the whole transaction again.
func (s *Store) retryReads(db *gorm.DB) error {
	wrap := func(orig func(*gorm.DB)) func(*gorm.DB) {
		return func(db *gorm.DB) {
			if _, inTx := db.Statement.ConnPool.(gorm.TxCommitter); inTx {
				orig(db)
				return
			}
			rows, wantRows := db.Get("rows") // RowQuery consumes this setting
			_ = s.retry(db.Statement.Context, func() error {
				db.Error = nil
				if wantRows {
					db.Statement.Settings.Store("rows", rows)
				}
				// A lost connection is retried even when some rows came
				// first (or all, and the connection died before the end of
				// the answer): GORM's query callback scans into a fresh
				// destination each run, so nothing is read twice.
				orig(db)
				return db.Error
			})
			db.Error = unavailable(db.Error)
		}
	}
	if err := db.Callback().Query().Replace("gorm:query", wrap(db.Callback().Query().Get("gorm:query"))); err != nil {
		return err
	}
	return db.Callback().Row().Replace("gorm:row", wrap(db.Callback().Row().Get("gorm:row")))
}
