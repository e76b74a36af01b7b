-- +goose Up
-- Where the referrer's email goes: the service does not own users, so an
-- address comes from the email claim of a user's token (source token) or
-- from the product backend (source service). One row per user, the latest.
CREATE TABLE user_contacts (
    user_id    TEXT PRIMARY KEY,
    email      TEXT NOT NULL,
    locale     TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL,
    updated_at DATETIME NOT NULL,
    CONSTRAINT user_contacts_source_check CHECK (source IN ('token', 'service'))
);

-- Which emails a user wants. No row: the defaults (referral_qualified and
-- payout_paid on, referral_created and reward_available off).
CREATE TABLE notification_preferences (
    user_id            TEXT PRIMARY KEY,
    referral_created   BOOLEAN NOT NULL,
    referral_qualified BOOLEAN NOT NULL,
    reward_available   BOOLEAN NOT NULL,
    payout_paid        BOOLEAN NOT NULL,
    updated_at         DATETIME NOT NULL
);

-- +goose Down
DROP TABLE notification_preferences;
DROP TABLE user_contacts;
