-- +goose Up
-- Business events, written in the transaction of the change they report.
-- seq orders the feeds: it is given when an event is dispatched, one
-- dispatcher at a time, so a consumer reading after a seq never misses an
-- event that committed later with a smaller id.
CREATE TABLE events (
    id         TEXT PRIMARY KEY,
    type       TEXT NOT NULL,
    user_id    TEXT NOT NULL DEFAULT '',
    data       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    seq        BIGINT,
    CONSTRAINT events_seq_key UNIQUE (seq)
);
CREATE INDEX events_undispatched_idx ON events (id) WHERE seq IS NULL;
CREATE INDEX events_user_idx ON events (user_id, seq) WHERE seq IS NOT NULL;
CREATE INDEX events_type_idx ON events (type, seq) WHERE seq IS NOT NULL;

-- What the outbox worker must do with an event: deliver it to one target of
-- one sink (a webhook endpoint, a user's email). One task per event, sink
-- and target; a worker holds a task while it tries it (lease_until).
CREATE TABLE outbox_tasks (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL REFERENCES events (id),
    sink            TEXT NOT NULL,
    target          TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until     TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT outbox_tasks_event_target_key UNIQUE (event_id, sink, target),
    CONSTRAINT outbox_tasks_status_check CHECK (status IN ('pending', 'succeeded', 'failed', 'skipped'))
);
CREATE INDEX outbox_tasks_due_idx ON outbox_tasks (next_attempt_at) WHERE status = 'pending';

-- Every attempt of a task, numbered from 1: what the target answered.
CREATE TABLE outbox_attempts (
    id              TEXT PRIMARY KEY,
    task_id         TEXT NOT NULL REFERENCES outbox_tasks (id),
    event_id        TEXT NOT NULL,
    sink            TEXT NOT NULL,
    target          TEXT NOT NULL,
    attempt         INTEGER NOT NULL,
    status          TEXT NOT NULL,
    response_status INTEGER,
    duration_ms     INTEGER,
    response        TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    CONSTRAINT outbox_attempts_task_attempt_key UNIQUE (task_id, attempt),
    CONSTRAINT outbox_attempts_status_check CHECK (status IN ('pending', 'succeeded', 'failed'))
);
CREATE INDEX outbox_attempts_target_idx ON outbox_attempts (sink, target, id);

-- Where events are sent: Standard Webhooks endpoints. The signing secret
-- must be kept to sign; after a rotation the previous one signs too until
-- previous_secret_until.
CREATE TABLE webhook_endpoints (
    id                    TEXT PRIMARY KEY,
    url                   TEXT NOT NULL,
    event_types           TEXT NOT NULL DEFAULT '',
    description           TEXT NOT NULL DEFAULT '',
    status                TEXT NOT NULL,
    disabled_reason       TEXT NOT NULL DEFAULT '',
    secret                TEXT NOT NULL,
    previous_secret       TEXT NOT NULL DEFAULT '',
    previous_secret_until TIMESTAMPTZ,
    failing_since         TIMESTAMPTZ,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL,
    deleted_at            TIMESTAMPTZ,
    CONSTRAINT webhook_endpoints_status_check CHECK (status IN ('enabled', 'disabled'))
);

-- reward.available is announced once per reward; rewards already available
-- when this migration runs are not announced again.
ALTER TABLE rewards ADD COLUMN announced_at TIMESTAMPTZ;
UPDATE rewards SET announced_at = available_at WHERE available_at <= now();
CREATE INDEX rewards_unannounced_idx ON rewards (available_at) WHERE announced_at IS NULL;

-- +goose Down
DROP INDEX rewards_unannounced_idx;
ALTER TABLE rewards DROP COLUMN announced_at;
DROP TABLE webhook_endpoints;
DROP TABLE outbox_attempts;
DROP TABLE outbox_tasks;
DROP TABLE events;
