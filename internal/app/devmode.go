package app

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/refhub/referral-service/internal/config"
)

// devKeyFile is where development mode keeps its signing key, beside the
// embedded database, so the server and the token subcommand agree on it.
const devKeyFile = "dev-jwt-secret"

// signingKey returns JWT_SECRET, or in development mode the local
// development key, created on first use with owner-only permissions.
func signingKey(cfg config.Config) ([]byte, error) {
	if !cfg.DevMode {
		return []byte(cfg.JWTSecret), nil
	}
	path := devKeyPath(cfg)
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read development key %s: %w", path, err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	key := hex.EncodeToString(raw)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write development key %s: %w", path, err)
	}
	return []byte(key), nil
}

func devKeyPath(cfg config.Config) string {
	return filepath.Join(filepath.Dir(cfg.DatabaseDSN), devKeyFile)
}

// logDevMode says loudly that the server runs without a configured key and
// how to get a token.
func logDevMode(log *slog.Logger, cfg config.Config) {
	log.Warn("DEVELOPMENT MODE: JWT_SECRET is not set, so tokens are signed with a local development key",
		"key_file", devKeyPath(cfg),
		"get_a_user_token", "make token SUB=u1",
		"get_a_backend_token", "make token SUB=backend ROLES=service",
		"or", "go run ./cmd/referral-api token -sub u1 -roles service",
		"production", "set JWT_SECRET (and DATABASE_URL=postgres://...)")
}
