-- Hotline schema v11: single-use reporter form tokens (issue 12).
--
-- A reporter's form carries a signed token; the first post that uses it is
-- accepted, every later one (reload, double click, a replayed post) is told
-- plainly that it was already sent. The row is keyed by a keyed hash (server
-- subkey, not in the database) of the token's random part: nothing here says
-- who posted, from where, or what. Rows are pruned once the token would be
-- refused as expired anyway.
--
-- receipt_box: for a new web tip only, the receipt's entropy sealed under a
-- key derived from the whole token, which only the reporter's page ever held,
-- so a resubmitted form can show the same receipt again; wiped at box_until
-- (a few minutes). A copy of the database alone cannot open it.
CREATE TABLE used_once (
    key         BLOB PRIMARY KEY,
    expires_at  INTEGER NOT NULL,
    receipt_box BLOB,
    box_until   INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX used_once_expiry ON used_once (expires_at);
-- Pruning runs with every insert: both sweeps must be index range scans.
CREATE INDEX used_once_box ON used_once (box_until) WHERE box_until IS NOT NULL;
