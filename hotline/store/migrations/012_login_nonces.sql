-- Login challenges are stateless (a MACed nonce carries its own expiry and
-- fingerprint), so nothing is kept for a challenge that is only asked for.
-- A nonce is remembered only once it has been *used* for a successful login,
-- until it expires, so a captured signature cannot be replayed; the table is
-- shared by every front end. Keyed by a hash; no address, no key material.
CREATE TABLE login_nonces (
    nonce_hash BLOB PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX login_nonces_by_expiry ON login_nonces(expires_at);
