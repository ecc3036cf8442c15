-- Hotline schema v1. Report content exists here only as envelopes (sealed,
-- then wrapped under a per-tip storage key kept outside this database).
-- No IP address, phone number or message text has a column.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE advocates (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE,
    box_public  BLOB NOT NULL,
    sign_public BLOB NOT NULL,
    pub_file    BLOB NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('advocate', 'admin')),
    phone       TEXT,            -- the advocate's own paging contact, not reporter data
    email       TEXT,
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    removed_at  TEXT
) STRICT;
CREATE UNIQUE INDEX advocates_active_name ON advocates(name) WHERE active = 1;

-- "On call now": a plain ordered list until the rotation lands.
CREATE TABLE oncall (
    position    INTEGER PRIMARY KEY,
    advocate_id INTEGER NOT NULL REFERENCES advocates(id)
) STRICT;

CREATE TABLE tips (
    id               TEXT PRIMARY KEY,
    ref              TEXT NOT NULL UNIQUE,
    channel          TEXT NOT NULL CHECK (channel IN ('web', 'sms', 'voice', 'whatsapp')),
    urgency          TEXT NOT NULL CHECK (urgency IN ('low', 'normal', 'high', 'critical')),
    urgency_source   TEXT NOT NULL CHECK (urgency_source IN ('rules', 'advocate')),
    status           TEXT NOT NULL CHECK (status IN ('new', 'acknowledged', 'in_progress', 'closed')),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    thread_hash      BLOB UNIQUE,      -- keyed hash of the reporter's number (SMS/voice)
    receipt_lookup   BLOB UNIQUE,      -- HMAC of the receipt's lookup id (web)
    reply_public     BLOB,             -- X25519 key derived from the receipt (web)
    reply_fingerprint TEXT,
    acked_at         TEXT,
    acked_by         INTEGER REFERENCES advocates(id)
) STRICT;
CREATE INDEX tips_by_status ON tips(status, urgency, created_at);

-- Advocates a tip's messages are sealed to; later messages are sealed to them too.
CREATE TABLE tip_advocates (
    tip_id      TEXT NOT NULL REFERENCES tips(id),
    advocate_id INTEGER NOT NULL REFERENCES advocates(id),
    PRIMARY KEY (tip_id, advocate_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    tip_id          TEXT NOT NULL REFERENCES tips(id),
    seq             INTEGER NOT NULL,
    direction       TEXT NOT NULL CHECK (direction IN ('in', 'out', 'note')),
    created_at      TEXT NOT NULL,
    urgency         TEXT,             -- the rules' decision for an inbound message
    ruleset_version TEXT,             -- which rule set decided it
    author_id       INTEGER REFERENCES advocates(id),
    external_key    BLOB UNIQUE,      -- keyed hash of a Twilio SID, for idempotency
    envelope        BLOB NOT NULL,    -- at-rest wrapped envelope
    UNIQUE (tip_id, seq)
) STRICT;

CREATE TABLE attachments (
    message_id TEXT NOT NULL REFERENCES messages(id),
    part       INTEGER NOT NULL CHECK (part >= 1),
    size       INTEGER NOT NULL,      -- ciphertext bytes
    blob       BLOB NOT NULL,         -- secretstream ciphertext
    PRIMARY KEY (message_id, part)
) STRICT, WITHOUT ROWID;

CREATE TABLE audit (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,           -- advocate fingerprint, 'intake', 'cli'
    action   TEXT NOT NULL,
    tip_id   TEXT,
    detail   TEXT                      -- metadata only, never content
) STRICT;
CREATE INDEX audit_by_tip ON audit(tip_id);

CREATE TABLE api_tokens (
    token_hash  BLOB PRIMARY KEY,
    advocate_id INTEGER NOT NULL REFERENCES advocates(id),
    expires_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
