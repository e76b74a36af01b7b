package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"slices"
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
