-- Hotline schema v9: a reporter's deletion request waits out a grace period
-- (issue 12 §4). One SMS "DELETE" from a phone an abuser may hold, or from a
-- spoofed number, must not shred a report in the same second: the request
-- becomes due at effective_at, advocates are paged (content-free), an
-- advocate may hold it, and a later message from the reporter cancels it.
-- Metadata only: no content, no number. The row goes with the tip when it is
-- shredded; the audit log keeps that it happened.
--
-- state:   pending   (due at effective_at)
--          held      (an advocate on the tip holds it; held_by says who)
--          cancelled (the reporter wrote again; a new request starts over)
--          done      (being executed: the key may already be gone, so nothing
--                     stops it any more; the row disappears with the tip)
-- via:     sms / whatsapp / web for a reporter; cli / api for an administrator's
--          own deletion (due at once, never cancelled by a reporter's message).
-- repeats: further requests while one was pending or held (they change nothing).
CREATE TABLE deletion_requests_v9 (
    tip_id       TEXT PRIMARY KEY REFERENCES tips(id),
    requested_at TEXT NOT NULL,
    effective_at TEXT NOT NULL,
    via          TEXT NOT NULL CHECK (via IN ('sms', 'whatsapp', 'web', 'voice', 'api', 'cli')),
    state        TEXT NOT NULL CHECK (state IN ('pending', 'held', 'cancelled', 'done')),
    held_by      INTEGER REFERENCES advocates(id),
    held_at      TEXT,
    repeats      INTEGER NOT NULL DEFAULT 0,
    changed_at   TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- Requests recorded before this version were promised "deleted soon" with no
-- grace period: they stay due at once.
INSERT INTO deletion_requests_v9 (tip_id, requested_at, effective_at, via, state, changed_at)
    SELECT tip_id, requested_at, requested_at, via, 'pending', requested_at FROM deletion_requests;

DROP TABLE deletion_requests;
ALTER TABLE deletion_requests_v9 RENAME TO deletion_requests;
CREATE INDEX deletion_requests_due ON deletion_requests(state, effective_at);
