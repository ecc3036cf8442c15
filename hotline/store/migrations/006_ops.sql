-- Hotline schema v6: retention and deletion (issue 8). Metadata only.

-- A reporter asked for their thread to be deleted (SMS keyword, follow-up
-- page). The retention task shreds the tip unless a hold stops it; the row
-- goes with the tip, the audit log keeps that it happened.
CREATE TABLE deletion_requests (
    tip_id       TEXT PRIMARY KEY REFERENCES tips(id),
    requested_at TEXT NOT NULL,
    via          TEXT NOT NULL CHECK (via IN ('sms', 'web', 'voice', 'api', 'cli'))
) STRICT, WITHOUT ROWID;

-- An administrator's hold on one tip: nothing deletes it, neither the
-- retention periods nor the reporter's own request, until it is released.
CREATE TABLE retention_holds (
    tip_id  TEXT PRIMARY KEY REFERENCES tips(id),
    held_at TEXT NOT NULL,
    actor   TEXT NOT NULL
) STRICT, WITHOUT ROWID;
