-- Key grants (hand-off and recovery). A stored envelope is never replaced:
-- sharing a message later adds a grant beside it, the message key sealed to
-- one more reader and signed by whoever granted it (crypto/SPEC.md §10).
-- Wrapped at rest under the tip's storage key like envelopes, so shredding a
-- tip makes its grants unreadable with it; the foreign keys let the shredder
-- find and delete the rows.
CREATE TABLE grants (
    id          INTEGER PRIMARY KEY,
    tip_id      TEXT NOT NULL REFERENCES tips(id),
    message_id  TEXT NOT NULL REFERENCES messages(id),
    grantee     TEXT NOT NULL,   -- fingerprint of the reader the key is sealed to
    grantor     TEXT NOT NULL,   -- fingerprint of the signer (an advocate or the recovery key)
    created_at  TEXT NOT NULL,
    grant_blob  BLOB NOT NULL,   -- at-rest wrapped grant
    UNIQUE (message_id, grantee)
) STRICT;
CREATE INDEX grants_by_tip ON grants(tip_id);
