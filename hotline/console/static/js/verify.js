/**
 * Who wrote a message, and through whom this device may read it, checked here
 * (as hotline/client/verify.py does for the CLI).
 *
 * The server lists self-signed public keys beside a tip; each is verified on
 * the device before use. An author is the key whose signature over (context,
 * text) verifies, shown with the name from that key's signed .pub file, never
 * a name written inside a sealed body. A message not sealed to this key opens
 * only through a key grant that verifies (signature, entitled signer, key
 * matching the envelope's commitment).
 */

/** The server's key list, keeping only keys that verify as claimed: fingerprint → key. */
export function verifiedKeys(C, entries) {
  const keys = new Map();
  for (const e of entries || []) {
    try {
      const pub = C.parsePubFile(C.fromBase64(e.pub_file));
      if (pub.fingerprint === e.fingerprint) keys.set(pub.fingerprint, pub);
    } catch { /* a key that does not verify is not used */ }
  }
  return keys;
}

/** Open as a recipient, else through a verified grant; throws why not. */
export function openMessage(C, me, m, keys, ctx) {
  const envelope = C.fromBase64(m.envelope);
  try {
    return { opened: C.openEnvelope(envelope, me, ctx), grantedBy: null };
  } catch (e) {
    if (e.kind !== 'NotARecipient' || !(m.grants || []).length) throw e;
  }
  const { opened, grant } = C.openGranted(envelope, me, m.grants.map((g) => C.fromBase64(g)), keys, ctx);
  return { opened, grantedBy: grant.grantor };
}

export const who = (fingerprint, keys) => ({ fingerprint, name: keys.has(fingerprint) ? keys.get(fingerprint).name : null });

/**
 * The verified author of an advocate message; null for a reporter's.
 * status: 'verified' | 'unsigned' (a version-1 body, written before signatures) | 'invalid'.
 */
export function authorship(C, direction, doc, ctx, keys) {
  if (direction === 'in') return null;
  if (!doc || typeof doc !== 'object' || doc.v !== 2) return { status: 'unsigned', fingerprint: null, name: null };
  let claimed = typeof doc.signer === 'string' ? doc.signer : null;
  try {
    const signed = C.parseSigned(doc);
    const pub = keys.get(signed.signer);
    if (!pub) throw new Error('signed by a key this server does not list');
    C.verifyMessage(pub, ctx, signed.text, signed.signature);
    return { status: 'verified', fingerprint: pub.fingerprint, name: pub.name };
  } catch (e) {
    return { status: 'invalid', fingerprint: claimed, name: null, reason: e.message || String(e) };
  }
}
