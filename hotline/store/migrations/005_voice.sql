-- Hotline schema v5: voice. A call leaves no clear trace of its own: its facts
-- (number, keys pressed, who was rung, how it ended) are sealed messages of the
-- tip. What is added here is follow-up work at Twilio for voicemails, so the
-- durable job table learns two kinds. SQLite cannot alter a CHECK, so the
-- table is rebuilt with the same columns and rows.

CREATE TABLE twilio_jobs_v5 (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('fetch_media', 'delete_media', 'delete_message',
                                              'fetch_recording', 'delete_recording')),
    tip_id      TEXT REFERENCES tips(id),
    message_id  TEXT,                -- our message the media belongs to (voice: the first of the call)
    group_key   BLOB NOT NULL,       -- keyed hash of the Twilio MessageSid or RecordingSid
    target      BLOB NOT NULL,       -- wrapped JSON: SIDs, media path, content type
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     REAL NOT NULL,       -- unix time of the next attempt
    last_error  TEXT,                -- an error kind or Twilio code, never content
    created_at  TEXT NOT NULL
) STRICT;

INSERT INTO twilio_jobs_v5 (id, kind, tip_id, message_id, group_key, target, state, attempts,
                            next_at, last_error, created_at)
    SELECT id, kind, tip_id, message_id, group_key, target, state, attempts, next_at,
           last_error, created_at FROM twilio_jobs;

DROP TABLE twilio_jobs;

ALTER TABLE twilio_jobs_v5 RENAME TO twilio_jobs;

CREATE INDEX twilio_jobs_due ON twilio_jobs(state, next_at);

CREATE INDEX twilio_jobs_by_group ON twilio_jobs(group_key);

-- One fetch and one deletion per recording, however often Twilio calls back.
CREATE UNIQUE INDEX twilio_jobs_one_per_recording ON twilio_jobs(kind, group_key)
    WHERE kind IN ('fetch_recording', 'delete_recording');
