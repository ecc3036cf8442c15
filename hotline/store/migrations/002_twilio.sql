-- Hotline schema v2: the work the Twilio channels leave behind, without
-- content or numbers. Twilio SIDs and media URLs a job needs are wrapped under
-- a subkey of the server secret (kept outside this database), so a copy of
-- the database alone cannot reach Twilio's copy of a message.

-- When a reporter's thread last got the automatic SMS reply (one per window).
-- Rows older than the window are deleted: this is not a contact history.
CREATE TABLE sms_auto_replies (
    thread_hash  BLOB PRIMARY KEY,   -- keyed hash of the number, as tips.thread_hash
    replied_at   REAL NOT NULL,      -- unix time
    external_key BLOB                -- keyed hash of the MessageSid that got the reply
) STRICT, WITHOUT ROWID;
CREATE INDEX sms_auto_replies_by_time ON sms_auto_replies(replied_at);

-- Durable follow-up work at Twilio: fetch media that failed, delete media and
-- message records once ours are committed. Retried with backoff.
CREATE TABLE twilio_jobs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('fetch_media', 'delete_media', 'delete_message')),
    tip_id      TEXT REFERENCES tips(id),
    message_id  TEXT,                -- our message the media belongs to
    group_key   BLOB NOT NULL,       -- keyed hash of the Twilio MessageSid
    target      BLOB NOT NULL,       -- wrapped JSON: SIDs, media path, content type
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     REAL NOT NULL,       -- unix time of the next attempt
    last_error  TEXT,                -- an error kind or Twilio code, never content
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX twilio_jobs_due ON twilio_jobs(state, next_at);
CREATE INDEX twilio_jobs_by_group ON twilio_jobs(group_key);

-- Delivery of advocates' SMS/WhatsApp replies. The number is never here: it
-- comes from the advocate's device for each send and is held in memory only.
CREATE TABLE sms_outbox (
    message_id  TEXT PRIMARY KEY REFERENCES messages(id),
    tip_id      TEXT NOT NULL REFERENCES tips(id),
    status      TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'retrying', 'failed',
                                                'delivered', 'undelivered')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    error       TEXT,                -- an error kind or Twilio code, never content
    sid_key     BLOB UNIQUE,         -- keyed hash of Twilio's MessageSid (status callbacks)
    updated_at  TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX sms_outbox_by_tip ON sms_outbox(tip_id);
