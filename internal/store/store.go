// Package store is the GORM adapter behind referral.Store: the models, the
// queries, transactions and the embedded versioned migrations, on PostgreSQL
// (production) and the embedded pure-Go SQLite (zero-setup default).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/refhub/referral-service/internal/referral"
)

// Dialect names the database engine behind a Store.
type Dialect string

// Supported dialects.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Store implements referral.Store with GORM. A Store made by InTx is bound to
// that transaction.
type Store struct {
	// db runs reads outside transactions (or, in a Store made by InTx, the
	// transaction's statements).
	db *gorm.DB
	// txdb begins transactions. On PostgreSQL it is a pool of its own, so
	// readers never queue behind transactions that hold a connection while
	// they wait for a referrer's lock; on SQLite it is db.
	txdb    *gorm.DB
	dialect Dialect
	// conn is the connection a PostgreSQL transaction runs on, for the
	// statements GORM cannot send (COPY); nil outside transactions.
	conn *sql.Conn
	// hooks are the root store's, shared by its transactions; appended is
	// set when a transaction appends an event.
	hooks    *hooks
	appended *atomic.Bool
}

// hooks are told what committed.
type hooks struct {
	onEvents atomic.Pointer[func()]
}

// OnEvents makes fn run after each transaction that appended events
// commits (to wake the outbox worker).
func (s *Store) OnEvents(fn func()) { s.hooks.onEvents.Store(&fn) }

var _ referral.Store = (*Store)(nil)

// Pool sizes on PostgreSQL, per process: transactions and reads.
const (
	maxTxConns   = 20
	maxReadConns = 10
	maxIdleConns = 10
)

// Open connects to the database: dialect Postgres with a libpq URL or
// key/value DSN, or SQLite with a file path (its directory is created).
func Open(ctx context.Context, dialect Dialect, dsn string) (*Store, error) {
	st := &Store{dialect: dialect, hooks: &hooks{}}
	switch dialect {
	case Postgres:
		for _, pool := range []struct {
			db   **gorm.DB
			size int
		}{{&st.db, maxReadConns}, {&st.txdb, maxTxConns}} {
			conn, err := openPostgres(dsn)
			if err != nil {
				st.Close()
				return nil, err
			}
			conn.SetMaxOpenConns(pool.size)
			conn.SetMaxIdleConns(min(pool.size, maxIdleConns))
			conn.SetConnMaxIdleTime(5 * time.Minute)
			if *pool.db, err = st.openGorm(ctx, postgres.New(postgres.Config{Conn: conn})); err != nil {
				_ = conn.Close()
				st.Close()
				return nil, err
			}
		}
	case SQLite:
		if dir := filepath.Dir(dsn); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("create database directory %s: %w", dir, err)
			}
		}
		// WAL lets readers run beside the writer; busy_timeout makes a second
		// process wait for the lock instead of failing; foreign keys are off by default.
		// Transactions take the write lock when they begin (_txlock=immediate),
		// so a second process waits for it (busy_timeout) rather than failing
		// when a read turns into a write.
		// The path is a URI's: '#' would end it (a test named "sqlite#01"
		// opened the file "…sqlite", shared with every other such test),
		// '?' would start the query, and '%' starts an escape.
		path := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(dsn)
		db, err := st.openGorm(ctx, sqlite.Open("file:"+path+"?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"))
		if err != nil {
			return nil, err
		}
		// One connection serialises writers inside this process, so concurrent
		// requests queue instead of failing with SQLITE_BUSY.
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.SetMaxOpenConns(1)
		}
		st.db, st.txdb = db, db
	default:
		return nil, fmt.Errorf("unknown database dialect %q", dialect)
	}
	return st, nil
}

// openGorm opens GORM on dialector, checks the database answers, and makes
// its reads retry lost connections.
func (s *Store) openGorm(ctx context.Context, dialector gorm.Dialector) (*gorm.DB, error) {
	db, err := gorm.Open(dialector, &gorm.Config{
		TranslateError: true,
		Logger:         logger.Discard,
		NowFunc:        func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", s.dialect, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", s.dialect, err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("connect to %s database: %w", s.dialect, err)
	}
	if err := s.retryReads(db); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("open %s database: %w", s.dialect, err)
	}
	return db, nil
}

// cancelGrace is how long past a caller's deadline pgx waits for the server
// to confirm a cancelled statement before giving up on the connection.
const cancelGrace = 250 * time.Millisecond

// openPostgres opens the pgx connection pool. When a caller's context ends
// during a statement, pgx asks the server to cancel it at once (so a
// transaction waiting on a lock gives it up and releases its own) and stops
// waiting for the connection shortly after (so a frozen server cannot hold
// the caller past its deadline). A session idle inside a transaction for a
// minute is ended by the server: a stuck client cannot hold locks forever.
func openPostgres(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: cancelGrace}
	}
	if _, set := cfg.RuntimeParams["idle_in_transaction_session_timeout"]; !set {
		cfg.RuntimeParams["idle_in_transaction_session_timeout"] = "60000"
	}
	return stdlib.OpenDB(*cfg), nil
}

// Dialect reports the database engine.
func (s *Store) Dialect() Dialect { return s.dialect }

// SQLDB exposes the connection pool, for migrations and health checks.
func (s *Store) SQLDB() (*sql.DB, error) { return s.db.DB() }

// Pools returns the connection pools by name (reads, transactions; one
// pool, reads, on SQLite), for metrics.
func (s *Store) Pools() map[string]*sql.DB {
	pools := map[string]*sql.DB{}
	if db, err := s.db.DB(); err == nil {
		pools["reads"] = db
	}
	if s.txdb != s.db {
		if db, err := s.txdb.DB(); err == nil {
			pools["transactions"] = db
		}
	}
	return pools
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close releases the connection pools.
func (s *Store) Close() error {
	dbs := []*gorm.DB{s.db}
	if s.txdb != s.db {
		dbs = append(dbs, s.txdb)
	}
	var errs []error
	for _, db := range dbs {
		if db == nil {
			continue
		}
		if sqlDB, err := db.DB(); err == nil {
			errs = append(errs, sqlDB.Close())
		}
	}
	return errors.Join(errs...)
}

// InTx runs fn in a transaction; fn's Store is bound to it. A transaction
// that fails for a reason retrying cures (a deadlock or serialization
// failure, a connection lost before or during it, a database restarting)
// runs again, within ctx's deadline: fn must be safe to run more than once,
// and every transaction of the service is idempotent, so running one again
// after a commit whose answer was lost finds its work done. A database out
// of reach ends in an error wrapping referral.ErrUnavailable.
func (s *Store) InTx(ctx context.Context, fn func(tx referral.Store) error) error {
	if s.conn != nil { // a nested transaction (a savepoint) is retried with its outer one
		return s.inTx(ctx, s.appended, fn)
	}
	appended := new(atomic.Bool)
	err := s.retry(ctx, func() error {
		appended.Store(false)
		return s.inTx(ctx, appended, fn)
	})
	if err == nil && appended.Load() {
		if hook := s.hooks.onEvents.Load(); hook != nil {
			(*hook)()
		}
	}
	return err
}

// tx is InTx for the store's own methods: fn gets the *Store bound to the
// transaction.
func (s *Store) tx(ctx context.Context, fn func(tx *Store) error) error {
	return s.InTx(ctx, func(t referral.Store) error { return fn(t.(*Store)) })
}

func (s *Store) inTx(ctx context.Context, appended *atomic.Bool, fn func(tx referral.Store) error) error {
	if s.conn != nil { // a nested transaction: a savepoint
		return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return fn(&Store{db: tx, txdb: tx, dialect: s.dialect, conn: s.conn, hooks: s.hooks, appended: appended})
		})
	}
	if s.dialect != Postgres {
		return s.txdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return fn(&Store{db: tx, txdb: tx, dialect: s.dialect, hooks: s.hooks, appended: appended})
		})
	}
	// On PostgreSQL the transaction is begun on a connection held for it,
	// so that COPY (through the driver) runs inside the same transaction.
	return s.txdb.WithContext(ctx).Connection(func(c *gorm.DB) error {
		conn, ok := c.Statement.ConnPool.(*sql.Conn)
		if !ok {
			return fmt.Errorf("transaction: unexpected connection type %T", c.Statement.ConnPool)
		}
		return c.Transaction(func(tx *gorm.DB) error {
			return fn(&Store{db: tx, txdb: tx, dialect: s.dialect, conn: conn, hooks: s.hooks, appended: appended})
		})
	})
}

func (s *Store) with(ctx context.Context) *gorm.DB { return s.db.WithContext(ctx) }

// notFound turns GORM's record-not-found into the domain's ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return referral.ErrNotFound
	}
	return err
}

// nullable maps "" to a NULL column value.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// ParseDatabaseURL splits a DATABASE_URL into dialect and DSN: empty means the
// embedded SQLite file defaultPath, "sqlite:PATH" another SQLite file, and
// postgres:// or postgresql:// PostgreSQL.
func ParseDatabaseURL(url, defaultPath string) (Dialect, string, error) {
	switch {
	case url == "":
		return SQLite, defaultPath, nil
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "//")
		if path == "" {
			return "", "", errors.New("sqlite: URL names no file")
		}
		return SQLite, path, nil
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return Postgres, url, nil
	default:
		return "", "", errors.New("must start with postgres://, postgresql:// or sqlite:")
	}
}
