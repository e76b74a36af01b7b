-- +goose Up
-- API keys of product backends and operators. Only the SHA-256 of a key is
-- stored; a revoked key keeps its row (revoked_at) for the record.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   DATETIME NOT NULL,
    last_used_at DATETIME,
    revoked_at   DATETIME,
    CONSTRAINT api_keys_secret_hash_key UNIQUE (secret_hash),
    CONSTRAINT api_keys_role_check CHECK (role IN ('service', 'admin'))
);

-- +goose Down
DROP TABLE api_keys;
