package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var migrationFiles embed.FS

// Migrate applies every pending embedded migration and returns the versions it
// applied. On PostgreSQL a session advisory lock lets several replicas start
// at once: one migrates, the others wait and find nothing to do.
func (s *Store) Migrate(ctx context.Context, log *slog.Logger) ([]int64, error) {
	provider, err := s.migrator()
	if err != nil {
		return nil, err
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply migrations: %w", err)
	}
	applied := make([]int64, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Version)
		if log != nil {
			log.InfoContext(ctx, "migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
		}
	}
	return applied, nil
}

// MigrationVersion returns the newest applied migration version and the newest
// embedded one, so readiness can tell a schema that lags the binary.
func (s *Store) MigrationVersion(ctx context.Context) (current, latest int64, err error) {
	provider, err := s.migrator()
	if err != nil {
		return 0, 0, err
	}
	current, latest, err = provider.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("read schema version: %w", err)
	}
	return current, latest, nil
}

func (s *Store) migrator() (*goose.Provider, error) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, err
	}
	var (
		dialect goose.Dialect
		dir     string
		opts    []goose.ProviderOption
	)
	switch s.dialect {
	case Postgres:
		dialect, dir = goose.DialectPostgres, "migrations/postgres"
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, fmt.Errorf("migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	case SQLite:
		dialect, dir = goose.DialectSQLite3, "migrations/sqlite"
	}
	sub, err := fs.Sub(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	opts = append(opts, goose.WithDisableGlobalRegistry(true))
	provider, err := goose.NewProvider(dialect, sqlDB, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return provider, nil
}

// MigrateTo applies the embedded migrations up to version, for tests of
// later migrations against data written under an earlier schema.
func (s *Store) MigrateTo(ctx context.Context, version int64) error {
	provider, err := s.migrator()
	if err != nil {
		return err
	}
	if _, err := provider.UpTo(ctx, version); err != nil {
		return fmt.Errorf("apply migrations up to %d: %w", version, err)
	}
	return nil
}
