-- Hotline schema v10: floods (issue 12 §5). Metadata only: no number, no content.

-- A summary page: several held pages delivered as one notification to one
-- person. Delivered like an outbox row (notifier chain, retries); its code
-- acknowledges every tip it carries. The key is unique per person and window.
CREATE TABLE page_summaries (
    id             INTEGER PRIMARY KEY,
    key            TEXT NOT NULL UNIQUE,
    advocate_id    INTEGER NOT NULL REFERENCES advocates(id),
    code           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    notifier_index INTEGER NOT NULL DEFAULT 0,
    attempt        INTEGER NOT NULL DEFAULT 0,
    next_attempt   REAL NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
    sent_via       TEXT,
    sent_at        TEXT,
    last_error     TEXT
) STRICT;
CREATE INDEX page_summaries_pending ON page_summaries(status, next_attempt);
CREATE INDEX page_summaries_code ON page_summaries(code);

-- Pages coalesce per person and window. The first page to a person whose
-- window is closed goes out at once and opens the window; pages to them while
-- it is open are held until it closes, then go out together as one summary
-- page (which opens the next window). `fold` is NULL until the worker has
-- looked at a page, 'direct' for one that goes out alone, 'held' for one
-- waiting for the window's end; `summary_id` names the summary that carried it.
ALTER TABLE page_outbox ADD COLUMN fold TEXT CHECK (fold IN ('direct', 'held'));
ALTER TABLE page_outbox ADD COLUMN summary_id INTEGER REFERENCES page_summaries(id);
CREATE INDEX page_outbox_by_summary ON page_outbox(summary_id) WHERE summary_id IS NOT NULL;
CREATE INDEX page_outbox_unfolded ON page_outbox(id) WHERE fold IS NULL AND status = 'pending';

-- One row per person: until when their current paging window is open.
CREATE TABLE page_windows (
    advocate_id INTEGER PRIMARY KEY REFERENCES advocates(id),
    until       REAL NOT NULL            -- unix time
) STRICT;

-- Global budgets against floods, counted per time slot so every front end
-- and every restart sees the same count. Never per number: a slot holds a
-- kind, a start time and a count, nothing else.
CREATE TABLE flood_budget (
    kind  TEXT NOT NULL CHECK (kind IN ('sms_auto_reply')),
    slot  INTEGER NOT NULL,              -- unix time of the slot's start
    used  INTEGER NOT NULL,
    PRIMARY KEY (kind, slot)
) STRICT, WITHOUT ROWID;
