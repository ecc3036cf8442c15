/**
 * Key grants (crypto/SPEC.md §10) and advocate message signatures (§11) in the
 * browser, as crypto/grant.py and crypto/signing.py. Split from hlcrypto.js,
 * which passes in the primitives it owns (`createGrants(deps)`); the vectors in
 * crypto/vectors/grant.json and signature.json are replayed through both.
 */

import { utf8, fromUtf8, concat, canonical, str16, u8, equal, isFingerprint, parseFingerprint, renderFingerprint } from './hlcrypto.js';

/** Deepest nesting of arrays/objects a sealed body may have (SPEC §11). */
export const MAX_BODY_DEPTH = 64;

export function createGrants(deps) {
  const { sodium, Reader, signedBytes, checkContext, sameContext, checkPreamble, keyCommitment, sealBox, openBox,
    readHeader, openWithKey, randomRng } = deps;
  const { DecryptionError, BadSignature, InvalidGrant } = deps.errors;

  const ctxStrings = (c) => [c.instance_id, c.tip_id, c.message_id, c.direction, c.channel].map(utf8);
  const messageToSign = (ctx, text) => canonical(...ctxStrings(ctx), utf8(text));
  const signMessage = (id, ctx, text) => id.sign('advocate-message', messageToSign(ctx, text));
  /** Throws BadSignature unless `pub` (a verified .pub) signed exactly this text in this context. */
  function verifyMessage(pub, ctx, text, sig) {
    if (!(sig instanceof Uint8Array) || sig.length !== 64) throw BadSignature('signature has the wrong length');
    if (!sodium.crypto_sign_verify_detached(sig, signedBytes('advocate-message', messageToSign(ctx, text)), pub.signPublic)) {
      throw BadSignature('signature does not verify');
    }
  }
  /** The sealed body of a signed message: compact JSON with sorted keys (as crypto/signing.py). */
  const signedBody = (text, signer, sig) => utf8(JSON.stringify({
    signature: sodium.to_base64(sig, sodium.base64_variants.ORIGINAL), signer, text, v: 2 }));
  /** The signed fields of a version-2 body (not yet verified); BadSignature if malformed. */
  function parseSigned(doc) {
    if (!doc || typeof doc !== 'object' || doc.v !== 2) throw BadSignature('not a signed (version 2) message');
    if (typeof doc.text !== 'string' || !doc.text.isWellFormed() || !isFingerprint(doc.signer)) {
      throw BadSignature('the signed message is malformed');
    }
    if (typeof doc.signature !== 'string') throw BadSignature('the signed message has no signature');
    let sig;
    try { sig = sodium.from_base64(doc.signature, sodium.base64_variants.ORIGINAL); } catch { throw BadSignature('the signature is not base64'); }
    if (sig.length !== 64) throw BadSignature('signature has the wrong length');
    if (sodium.to_base64(sig, sodium.base64_variants.ORIGINAL) !== doc.signature) throw BadSignature('the signature is not canonical base64');
    return { text: doc.text, signer: doc.signer, signature: sig };
  }

  /** A sealed body: strict UTF-8 JSON, no BOM (as crypto/signing.py decode_body); throws Error. */
  function decodeBody(bytes) {
    let text;
    try { text = fromUtf8(bytes); } catch { throw new Error('message body is not UTF-8'); }
    let depth = 0;  // the same scan as crypto/signing.py: brackets outside strings, before parsing
    for (const [t] of text.matchAll(/"(?:[^"\\]+|\\[\s\S])*"?|[[\]{}]/g)) {
      depth += t === '[' || t === '{' ? 1 : t === ']' || t === '}' ? -1 : 0;
      if (depth > MAX_BODY_DEPTH) throw new Error('message body is nested too deeply');
    }
    try { return JSON.parse(text); } catch { throw new Error('message body is not JSON'); }
  }

  const grantSignedPart = (g) => canonical(utf8('HLGR'), u8(1), u8(1), ...ctxStrings(g.context), g.commitment,
    parseFingerprint(g.grantor), parseFingerprint(g.grantee), g.sealedKey);
  const grantBytes = (g) => concat(utf8('HLGR'), u8(1), u8(1), ...[g.context.instance_id, g.context.tip_id,
    g.context.message_id, g.context.direction, g.context.channel].map(str16), g.commitment,
  parseFingerprint(g.grantor), parseFingerprint(g.grantee), g.sealedKey, g.signature);

  /** Seal an opened message's key to `grantee` and sign it as `grantor` (rng: one esk). */
  function makeGrant(opened, grantor, grantee, rng = randomRng) {
    if (grantee.fingerprint === grantor.fingerprint) throw new Error('a grant to oneself is pointless');
    const g = { context: opened.context, commitment: keyCommitment(opened.messageKey), grantor: grantor.fingerprint,
      grantee: grantee.fingerprint, sealedKey: sealBox(opened.messageKey, grantee.boxPublic, rng) };
    g.signature = grantor.sign('key-grant', grantSignedPart(g));
    return grantBytes(g);
  }

  function parseGrant(data) {
    checkPreamble(data, 'HLGR', 1, 1);
    const r = new Reader(data, InvalidGrant);
    r.take(6);
    const f = [0, 1, 2, 3, 4].map(() => r.str16(255));
    const context = { instance_id: f[0], tip_id: f[1], message_id: f[2], direction: f[3], channel: f[4] };
    try { checkContext(context); } catch { r.fail('invalid grant context'); }
    const commitment = r.take(32).slice();
    const grantor = renderFingerprint(r.take(20)), grantee = renderFingerprint(r.take(20));
    const sealedKey = r.take(80).slice(), signature = r.take(64).slice();
    r.finish();
    if (grantor === grantee) r.fail('a grant from a key to itself');
    return { context, commitment, grantor, grantee, sealedKey, signature };
  }

  /** As crypto/grant.py check_grants: parse, match, signature, and a chain back to the header. */
  function checkGrants(header, grants, keys) {
    const rejected = [];
    let valid = [];
    grants.forEach((raw, i) => {
      try {
        const g = parseGrant(raw);
        if (!sameContext(g.context, header.context)) throw InvalidGrant('the grant is for another message or tip');
        if (!equal(g.commitment, header.commitment)) throw InvalidGrant('the grant is for another key than the message\'s');
        const key = keys.get(g.grantor);
        if (!key) throw InvalidGrant('the grantor\'s public key is unknown');
        if (!sodium.crypto_sign_verify_detached(g.signature, signedBytes('key-grant', grantSignedPart(g)), key.signPublic)) {
          throw InvalidGrant('the grant\'s signature does not verify');
        }
        valid.push(g);
      } catch (e) { rejected.push([i, e.message]); }
    });
    const entitled = new Set(header.recipients);
    const accepted = [];
    for (let progress = true; progress;) {
      progress = false;
      for (const g of valid) {
        if (entitled.has(g.grantor)) { accepted.push(g); entitled.add(g.grantee); progress = true; }
      }
      valid = valid.filter((g) => !accepted.includes(g));
    }
    for (const g of valid) rejected.push([-1, 'the grant is signed by someone who was never given this message']);
    return { accepted, rejected };
  }

  /** Open through an accepted grant to `holder`; DecryptionError says why none works. */
  function openGranted(envelope, holder, grants, keys, expected = null) {
    const header = readHeader(envelope);
    if (expected && !sameContext(header.context, expected)) throw DecryptionError('envelope belongs to a different tip/message');
    const { accepted, rejected } = checkGrants(header, grants, keys);
    const reasons = rejected.map(([, why]) => why);
    const mine = accepted.filter((g) => g.grantee === holder.fingerprint);
    for (const g of mine) {
      const key = openBox(g.sealedKey, holder.boxPublic, holder.boxSecret);
      if (!key) { reasons.push('the granted key does not open with this key'); continue; }
      try { return { opened: openWithKey(envelope, key, expected), grant: g }; } catch (e) {
        reasons.push(`a grant from ${g.grantor}: ${e.message}`);
      }
    }
    if (!mine.length && !reasons.length) throw DecryptionError('not sealed to this key, and no grant for it');
    throw DecryptionError(`no valid key grant for this key: ${reasons.join('; ')}`);
  }

  return { decodeBody, messageToSign, signMessage, verifyMessage, signedBody, parseSigned, makeGrant, parseGrant, checkGrants, openGranted };
}
