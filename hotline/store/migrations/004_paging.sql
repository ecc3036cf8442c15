-- Paging: the rotation and escalation policy (admin-set, JSON checked by the
-- pure core on write), each advocate's notifier order, every escalation
-- opened for a tip, and the durable outbox of page notifications.
-- A page never holds content: tip reference, channel, urgency, times only.

CREATE TABLE paging_settings (
    key   TEXT PRIMARY KEY CHECK (key IN ('rotation', 'escalation')),
    value TEXT NOT NULL                 -- JSON, validated by hotline.paging before it is written
) STRICT;

-- Each advocate's notifiers, tried in order; the target is the advocate's own
-- contact (their phone, e-mail or webhook URL), never reporter data.
CREATE TABLE advocate_notifiers (
    advocate_id INTEGER NOT NULL REFERENCES advocates(id),
    position    INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('sms', 'call', 'email', 'webhook', 'console')),
    target      TEXT,
    PRIMARY KEY (advocate_id, position)
) STRICT, WITHOUT ROWID;

CREATE TABLE escalations (
    id          TEXT PRIMARY KEY,
    tip_id      TEXT NOT NULL REFERENCES tips(id),
    code        TEXT NOT NULL,           -- what an advocate texts back to acknowledge
    plan        TEXT NOT NULL,           -- JSON snapshot (hotline.paging.escalation.plan_to_dict)
    cursor      INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'exhausted', 'cancelled')),
    opened_at   TEXT NOT NULL,
    next_due    REAL,                    -- unix time the worker looks at it next; NULL when over
    acked_at    TEXT,
    acked_by    INTEGER REFERENCES advocates(id),
    acked_via   TEXT
) STRICT;
CREATE INDEX escalations_due ON escalations(status, next_due);
CREATE INDEX escalations_by_tip ON escalations(tip_id);
CREATE UNIQUE INDEX escalations_open_code ON escalations(code) WHERE status = 'open';

-- One row per (escalation step, person): the idempotency key makes a second
-- insert of the same step for the same person a no-op, restart or not.
CREATE TABLE page_outbox (
    id             INTEGER PRIMARY KEY,
    key            TEXT NOT NULL UNIQUE,
    escalation_id  TEXT NOT NULL REFERENCES escalations(id),
    advocate_id    INTEGER NOT NULL REFERENCES advocates(id),
    level          INTEGER NOT NULL,
    repeat         INTEGER NOT NULL,
    created_at     TEXT NOT NULL,
    notifier_index INTEGER NOT NULL DEFAULT 0,   -- which of the advocate's notifiers is being tried
    attempt        INTEGER NOT NULL DEFAULT 0,   -- failed attempts on that notifier
    next_attempt   REAL NOT NULL,                -- unix time
    status         TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
    sent_via       TEXT,
    sent_at        TEXT,
    last_error     TEXT                          -- a content-free reason
) STRICT;
CREATE INDEX page_outbox_pending ON page_outbox(status, next_attempt);
CREATE INDEX page_outbox_by_escalation ON page_outbox(escalation_id);
