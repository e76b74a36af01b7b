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
	"time"

	"github.com/glebarez/sqlite"
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
	db      *gorm.DB
	dialect Dialect
	// conn is the connection a PostgreSQL transaction runs on, for the
	// statements GORM cannot send (COPY); nil outside transactions.
	conn *sql.Conn
}

var _ referral.Store = (*Store)(nil)

// Open connects to the database: dialect Postgres with a libpq URL or
// key/value DSN, or SQLite with a file path (its directory is created).
func Open(ctx context.Context, dialect Dialect, dsn string) (*Store, error) {
	var dialector gorm.Dialector
	switch dialect {
	case Postgres:
		dialector = postgres.Open(dsn)
	case SQLite:
		if dir := filepath.Dir(dsn); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("create database directory %s: %w", dir, err)
			}
		}
		// WAL lets readers run beside the writer; busy_timeout makes a second
		// process wait for the lock instead of failing; foreign keys are off by default.
		dialector = sqlite.Open("file:" + dsn + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)")
	default:
		return nil, fmt.Errorf("unknown database dialect %q", dialect)
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		TranslateError: true,
		Logger:         logger.Discard,
		NowFunc:        func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	if dialect == SQLite {
		// One connection serialises writers inside this process, so concurrent
		// requests queue instead of failing with SQLITE_BUSY.
		sqlDB.SetMaxOpenConns(1)
	} else {
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetMaxIdleConns(10)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("connect to %s database: %w", dialect, err)
	}
	return &Store{db: db, dialect: dialect}, nil
}

// Dialect reports the database engine.
func (s *Store) Dialect() Dialect { return s.dialect }

// SQLDB exposes the connection pool, for migrations and health checks.
func (s *Store) SQLDB() (*sql.DB, error) { return s.db.DB() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close releases the connection pool.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// InTx runs fn in a transaction; fn's Store is bound to it.
func (s *Store) InTx(ctx context.Context, fn func(tx referral.Store) error) error {
	if s.dialect != Postgres || s.conn != nil { // SQLite, or a nested transaction (a savepoint)
		return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return fn(&Store{db: tx, dialect: s.dialect, conn: s.conn})
		})
	}
	// On PostgreSQL the transaction is begun on a connection held for it,
	// so that COPY (through the driver) runs inside the same transaction.
	return s.db.WithContext(ctx).Connection(func(c *gorm.DB) error {
		conn, ok := c.Statement.ConnPool.(*sql.Conn)
		if !ok {
			return fmt.Errorf("transaction: unexpected connection type %T", c.Statement.ConnPool)
		}
		return c.Transaction(func(tx *gorm.DB) error {
			return fn(&Store{db: tx, dialect: s.dialect, conn: conn})
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
