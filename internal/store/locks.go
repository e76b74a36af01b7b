package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/binary"
	"slices"
	"time"
)

// accountLockKey is the PostgreSQL advisory lock key of a user's account:
// the first 8 bytes of SHA-256 over a namespace and the user id.
func accountLockKey(userID string) int64 {
	sum := sha256.Sum256([]byte("referral-service account\x00" + userID))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// LockAccounts takes the transaction-scoped lock of each user's account, in
// the order of their lock keys, so two transactions locking the same users
// (even users whose keys collide) always queue instead of deadlocking. The
// locks end with the transaction. SQLite's single connection serialises
// transactions already, so there it does nothing.
func (s *Store) LockAccounts(ctx context.Context, userIDs ...string) error {
	if s.dialect != Postgres || len(userIDs) == 0 {
		return nil
	}
	keys := make([]int64, 0, len(userIDs))
	for _, id := range userIDs {
		keys = append(keys, accountLockKey(id))
	}
	slices.SortFunc(keys, cmp.Compare[int64])
	keys = slices.Compact(keys)
	for _, k := range keys {
		if err := s.with(ctx).Exec("SELECT pg_advisory_xact_lock(?)", k).Error; err != nil {
			return err
		}
	}
	return nil
}

// jobLockKey is the advisory lock key of a named job.
func jobLockKey(name string) int64 {
	sum := sha256.Sum256([]byte("referral-service job\x00" + name))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// TryExclusive runs fn holding the lock named name, on PostgreSQL a
// session advisory lock on a connection of its own, so that of several
// replicas one runs a scheduled job and the others skip it (ran false).
// The lock ends with fn, or with the connection if the process dies. On
// SQLite, one process's database, fn just runs.
func (s *Store) TryExclusive(ctx context.Context, name string, fn func(ctx context.Context) error) (bool, error) {
	return s.exclusive(ctx, name, false, fn)
}

// Exclusive is TryExclusive that waits for the lock instead of skipping.
func (s *Store) Exclusive(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	_, err := s.exclusive(ctx, name, true, fn)
	return err
}

func (s *Store) exclusive(ctx context.Context, name string, wait bool, fn func(ctx context.Context) error) (bool, error) {
	if s.dialect != Postgres {
		return true, fn(ctx)
	}
	sqlDB, err := s.txdb.DB()
	if err != nil {
		return false, err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return false, unavailable(err)
	}
	defer conn.Close()
	key := jobLockKey(name)
	if wait {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
			return false, unavailable(err)
		}
	} else {
		var got bool
		if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&got); err != nil {
			return false, unavailable(err)
		}
		if !got {
			return false, nil
		}
	}
	defer func() {
		// A fresh context: the job's may have ended. If the unlock fails the
		// connection is closed, which releases the lock too.
		unlockCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(unlockCtx, "SELECT pg_advisory_unlock($1)", key); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return true, fn(ctx)
}
