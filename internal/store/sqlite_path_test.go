package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/refhub/referral-service/internal/store"
)

// TestSQLitePathWithURICharacters: a path with '#', '?' or '%' (a
// subtest named "sqlite#01" has one) opens that file, not a file named
// after the part before the '#'.
func TestSQLitePathWithURICharacters(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a#01?b%20c", "referrals.db")
	st, err := store.Open(context.Background(), store.SQLite, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not at %s: %v", path, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); err == nil {
		t.Fatal("the path was cut at '#'")
	}
}
