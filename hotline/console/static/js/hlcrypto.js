/**
 * Hotline's byte formats in the browser (crypto/SPEC.md), on libsodium.js.
 *
 * This is the second implementation of crypto/ (grants and message signatures
 * live beside it in hlgrants.js): it opens exactly what the
 * Python package writes, and writes what it opens. tests/console/crypto.test.mjs
 * replays every vector in crypto/vectors/ through it so the two cannot drift.
 *
 * libsodium is injected (`createCrypto(sodium)`) so the same module runs in
 * the browser (served, SRI-pinned, from node_modules) and under `node --test`.
 * Randomness is injected too (`rng(n)`), as in Python, so vectors replay exactly.
 */

import { createGrants } from './hlgrants.js';

export class CryptoError extends Error {
  constructor(reason, kind = 'CryptoError') { super(reason); this.kind = kind; }
}
const err = (kind) => (reason) => new CryptoError(reason, kind);
const DecryptionError = err('DecryptionError');
const NotARecipient = err('NotARecipient');
const KeyFileError = err('KeyFileError');
const WrongPassphrase = err('WrongPassphrase');
const InvalidPublicKey = err('InvalidPublicKey');
const UnsupportedFormat = err('UnsupportedFormat');
const BadSignature = err('BadSignature');

const enc = new TextEncoder();
// ignoreBOM: a leading U+FEFF is part of the text, as in Python's decode('utf-8') (SPEC §0):
// the default decoder silently dropped it, so a field or a .pub file read differently here.
const dec = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
export const utf8 = (s) => enc.encode(s);
export const fromUtf8 = (b) => dec.decode(b);

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
export const u8 = (n) => Uint8Array.of(n & 0xff);
export const u16 = (n) => Uint8Array.of((n >>> 8) & 0xff, n & 0xff);
export function u32(n) { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n); return b; }
export function u64(n) { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(n)); return b; }
export const lp32 = (x) => concat(u32(x.length), x);
/** The only encoding for anything authenticated or signed: length-prefixed, injective. */
export const canonical = (...fields) => concat(...fields.map(lp32));
export function str16(s) { const raw = utf8(s); return concat(u16(raw.length), raw); }

export function equal(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

export const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
export function unhex(s) {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
  return out;
}

/** Strict cursor over untrusted bytes; every failure is the format's own error. */
class Reader {
  constructor(data, error) { this.d = data; this.pos = 0; this.error = error; }
  fail(reason) { throw this.error(reason); }
  get remaining() { return this.d.length - this.pos; }
  take(n) {
    if (n < 0 || this.remaining < n) this.fail('truncated');
    const out = this.d.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  u8() { return this.take(1)[0]; }
  u16() { const b = this.take(2); return (b[0] << 8) | b[1]; }
  u32() { return new DataView(this.take(4).slice().buffer).getUint32(0); }
  u64() { return Number(new DataView(this.take(8).slice().buffer).getBigUint64(0)); }
  str16(max) {
    const n = this.u16();
    if (n > max) this.fail('field too long');
    try { return fromUtf8(this.take(n)); } catch { this.fail('field is not valid UTF-8'); }
  }
  consumed() { return this.d.subarray(0, this.pos); }
  finish() { if (this.remaining) this.fail('trailing bytes'); }
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function base32(raw) {
  let bits = 0, value = 0, out = '';
  for (const byte of raw) {
    value = (value << 8) | byte; bits += 8;
    while (bits >= 5) { out += B32[(value >>> (bits - 5)) & 31]; bits -= 5; }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}
function unbase32(text) {
  let bits = 0, value = 0;
  const out = [];
  for (const c of text) {
    value = (value << 5) | B32.indexOf(c); bits += 5;
    if (bits >= 8) { out.push((value >>> (bits - 8)) & 0xff); bits -= 8; }
  }
  return Uint8Array.from(out);
}
const FP_RE = /^[A-Z2-7]{4}(?:-[A-Z2-7]{4}){7}$/;
export const isFingerprint = (t) => typeof t === 'string' && FP_RE.test(t);
export function renderFingerprint(raw) {
  return base32(raw).match(/.{4}/g).join('-');
}
export function parseFingerprint(text) {
  if (!isFingerprint(text)) throw new Error('not a Hotline fingerprint');
  return unbase32(text.replaceAll('-', ''));
}
function compareBytes(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

// -- padding (SPEC §2): sodium_pad buckets ------------------------------------------
export function paddedLength(n) {
  const need = n + 1;
  if (need <= 256) return 256;
  if (need <= 65536) { let p = 256; while (p < need) p *= 2; return p; }
  return Math.ceil(need / 65536) * 65536;
}
export function pad(data) {
  const out = new Uint8Array(paddedLength(data.length));
  out.set(data); out[data.length] = 0x80;
  return out;
}
/** Strip ISO 7816-4 padding; null unless canonical for its bucket. */
export function unpad(padded) {
  if (padded.length < 256) return null;
  let i = padded.length - 1;
  const stop = Math.max(0, padded.length - 65536);
  while (i >= stop && padded[i] === 0) i--;
  if (i < stop || padded[i] !== 0x80) return null;
  const data = padded.subarray(0, i);
  return paddedLength(data.length) === padded.length ? data : null;
}

export const ENVELOPE_DIRECTIONS = ['in', 'out', 'note'];
export const ENVELOPE_CHANNELS = ['web', 'sms', 'voice', 'whatsapp'];
const MAX_BODY = 16 * 1024 * 1024;
const MIB = 1024 * 1024;
export const KDF = { LAPTOP: [3, 256 * MIB], PHONE: [3, 64 * MIB], TESTING: [1, 8 * MIB] };

export function createCrypto(sodium) {
  const lib = sodium.libsodium;

  /** BLAKE2b with key and personalization: libsodium.js only wraps the empty-message form. */
  function blake2b(outlen, data, key = null, person = null) {
    const personal = person ? new Uint8Array(16) : null;
    if (person) personal.set(utf8(person));
    const keyLen = key ? key.length : 0;
    const size = outlen + data.length + keyLen + 16;
    const base = lib._malloc(size);
    try {
      const heap = lib.HEAPU8;
      const pOut = base, pIn = base + outlen, pKey = pIn + data.length, pPers = pKey + keyLen;
      heap.set(data, pIn);
      if (key) heap.set(key, pKey);
      if (personal) heap.set(personal, pPers);
      const rc = lib._crypto_generichash_blake2b_salt_personal(
        pOut, outlen, pIn, data.length, 0, key ? pKey : 0, keyLen, 0, personal ? pPers : 0);
      if (rc !== 0) throw new Error('blake2b failed');
      return lib.HEAPU8.slice(pOut, pOut + outlen);
    } finally {
      lib.HEAPU8.fill(0, base, base + size);
      lib._free(base);
    }
  }

  function labelledPrf(key, label, length = 32) {
    if (key.length < 16 || key.length > 64) throw new Error('key must be 16..64 bytes');
    if (!label) throw new Error('label must not be empty');
    return blake2b(length, lp32(utf8(label)), key, 'hotline-kdf-v1');
  }
  function deriveSubkey(master, label, length = 32) {
    if (master.length < 32) throw new Error('master key must be at least 32 bytes');
    return labelledPrf(master, label, length);
  }
  const keyedHash = (key, data, length = 32) => blake2b(length, data, key);
  const fingerprintBytes = (boxPk, signPk) => blake2b(20, concat(boxPk, signPk), null, 'hotline-fpr-v1');
  const fingerprintOf = (boxPk, signPk) => renderFingerprint(fingerprintBytes(boxPk, signPk));
  const keyCommitment = (k) => deriveSubkey(k, 'key-commitment');
  const partSubkey = (k, part) => deriveSubkey(k, part === 0 ? 'text' : `attachment-${part}`);
  const randomRng = (n) => sodium.randombytes_buf(n);

  function rngBytes(rng, n) {
    const out = rng(n);
    if (!(out instanceof Uint8Array) || out.length !== n) throw new Error(`rng must return ${n} bytes`);
    return out;
  }

  /** crypto/testing.py's seeded rng, so writers replay the vectors byte for byte. */
  function seededRng(seed) {
    const key = blake2b(32, seed, null, 'hotline-testrng');
    let i = 0;
    return (n) => sodium.randombytes_buf_deterministic(n, keyedHash(key, u64(i++)));
  }

  // -- sealed box with injectable randomness (SPEC §3) ---------------------------------
  function sealBox(message, recipientPk, rng) {
    const esk = rngBytes(rng, 32);
    const epk = sodium.crypto_scalarmult_base(esk);
    const nonce = blake2b(24, concat(epk, recipientPk));
    try {
      return concat(epk, sodium.crypto_box_easy(message, nonce, recipientPk, esk));
    } catch { throw new Error('recipient public key is not usable'); }
  }
  function openBox(sealed, pk, sk) {
    try { return sodium.crypto_box_seal_open(sealed, pk, sk); } catch { return null; }
  }

  // -- envelope (SPEC §3) -----------------------------------------------------------
  function checkPreamble(data, magic, version, suite) {
    const m = utf8(magic);
    if (data.length > 0 && data.length < 6 && equal(data.subarray(0, Math.min(4, data.length)), m.subarray(0, Math.min(4, data.length)))) {
      throw DecryptionError('truncated');
    }
    if (data.length < 6 || !equal(data.subarray(0, 4), m)) throw UnsupportedFormat('not a Hotline object of the expected kind');
    if (data[4] !== version) throw UnsupportedFormat(`unsupported format version ${data[4]}`);
    if (data[5] !== suite) throw UnsupportedFormat(`unsupported cipher suite ${data[5]}`);
  }

  function checkContext(ctx) {
    for (const k of ['instance_id', 'tip_id', 'message_id']) {
      const v = ctx[k];
      if (typeof v !== 'string' || !v || utf8(v).length > 255) throw new Error(`invalid ${k}`);
    }
    if (!ENVELOPE_DIRECTIONS.includes(ctx.direction)) throw new Error('invalid direction');
    if (!ENVELOPE_CHANNELS.includes(ctx.channel)) throw new Error('invalid channel');
  }
  const ctxFields = (ctx, part) => [utf8(ctx.instance_id), utf8(ctx.tip_id), utf8(ctx.message_id),
    u32(part), utf8(ctx.direction), utf8(ctx.channel)];
  const sameContext = (a, b) => ['instance_id', 'tip_id', 'message_id', 'direction', 'channel'].every((k) => a[k] === b[k]);

  const envelopeAd = (p) => canonical(utf8('HLEN'), u8(1), u8(1), ...ctxFields(p.context, 0),
    concat(...p.stanzas.map((s) => s[0])), p.commitment, concat(...p.stanzas.map((s) => s[1])));

  function serialize(p) {
    const c = p.context;
    return concat(utf8('HLEN'), u8(1), u8(1), str16(c.instance_id), str16(c.tip_id), str16(c.message_id),
      str16(c.direction), str16(c.channel), p.commitment, u16(p.stanzas.length),
      ...p.stanzas.map(([fp, s]) => concat(fp, s)), p.nonce, u32(p.ciphertext.length), p.ciphertext);
  }

  function parseEnvelope(envelope) {
    checkPreamble(envelope, 'HLEN', 1, 1);
    const r = new Reader(envelope, DecryptionError);
    r.take(6);
    const f = [0, 1, 2, 3, 4].map(() => r.str16(255));
    const context = { instance_id: f[0], tip_id: f[1], message_id: f[2], direction: f[3], channel: f[4] };
    try { checkContext(context); } catch { r.fail('invalid envelope context'); }
    const commitment = r.take(32);
    const count = r.u16();
    if (count < 1 || count > 1024) r.fail('invalid recipient count');
    const stanzas = [];
    for (let i = 0; i < count; i++) stanzas.push([r.take(20), r.take(80)]);
    for (let i = 1; i < count; i++) if (compareBytes(stanzas[i - 1][0], stanzas[i][0]) >= 0) r.fail('recipients are not in canonical order');
    const nonce = r.take(24);
    const length = r.u32();
    if (length < 272 || length > paddedLength(MAX_BODY) + 16) r.fail('invalid ciphertext length');
    const ciphertext = r.take(length);
    r.finish();
    return { context, commitment, stanzas, nonce, ciphertext };
  }

  function readHeader(envelope) {
    const p = parseEnvelope(envelope);
    return { context: p.context, recipients: p.stanzas.map(([fp]) => renderFingerprint(fp)), commitment: p.commitment };
  }

  function unsealKey(p, holder) {
    let wanted;
    try { wanted = parseFingerprint(holder.fingerprint); } catch { throw NotARecipient('holder has no valid fingerprint'); }
    const stanza = p.stanzas.find(([fp]) => equal(fp, wanted));
    if (!stanza) throw NotARecipient('the key is not among the envelope\'s recipients');
    const key = openBox(stanza[1], holder.boxPublic, holder.boxSecret);
    if (!key) throw DecryptionError('the sealed message key does not open with this key');
    if (!equal(keyCommitment(key), p.commitment)) throw DecryptionError('key commitment mismatch');
    return key;
  }

  /** Verify and decrypt; refuses an envelope bound to anything but `expected` (if given). */
  function openEnvelope(envelope, holder, expected = null) {
    const p = parseEnvelope(envelope);
    if (expected && !sameContext(p.context, expected)) throw DecryptionError('envelope belongs to a different tip/message');
    return decryptWithKey(p, unsealKey(p, holder));
  }

  /** Decrypt with a key from a grant (SPEC §10): it must match the envelope's commitment. */
  function openWithKey(envelope, messageKey, expected = null) {
    const p = parseEnvelope(envelope);
    if (expected && !sameContext(p.context, expected)) throw DecryptionError('envelope belongs to a different tip/message');
    if (messageKey.length !== 32 || !equal(keyCommitment(messageKey), p.commitment)) throw DecryptionError('key commitment mismatch');
    return decryptWithKey(p, messageKey);
  }

  function decryptWithKey(p, messageKey) {
    let padded;
    try {
      padded = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, p.ciphertext, envelopeAd(p), p.nonce, partSubkey(messageKey, 0));
    } catch { throw DecryptionError('authentication failed'); }
    const body = unpad(padded);
    if (!body) throw DecryptionError('invalid padding');
    return { context: p.context, body: body.slice(), messageKey,
      recipients: p.stanzas.map(([fp]) => renderFingerprint(fp)) };
  }

  function canonicalRecipients(recipients) {
    const byFp = new Map();
    for (const r of recipients) {
      const raw = parseFingerprint(r.fingerprint);
      const k = hex(raw);
      if (byFp.has(k) && !equal(byFp.get(k)[1].boxPublic, r.boxPublic)) throw new Error('two different keys under one fingerprint');
      if (!byFp.has(k)) byFp.set(k, [raw, r]);
    }
    if (!byFp.size) throw new Error('at least one recipient is required');
    return [...byFp.values()].sort((a, b) => compareBytes(a[0], b[0]));
  }

  function sealWithKey(ctx, body, recipients, messageKey, rng) {
    if (body.length > MAX_BODY) throw new Error('body too large');
    const stanzas = recipients.map(([fp, r]) => [fp, sealBox(messageKey, r.boxPublic, rng)]);
    const nonce = rngBytes(rng, 24);
    const draft = { context: ctx, commitment: keyCommitment(messageKey), stanzas, nonce };
    draft.ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(pad(body), envelopeAd(draft), null, nonce, partSubkey(messageKey, 0));
    return serialize(draft);
  }

  /** rng order as in Python: message key, one esk per recipient (canonical order), nonce. */
  function seal(ctx, body, recipients, rng = randomRng) {
    checkContext(ctx);
    const rs = canonicalRecipients(recipients);
    const messageKey = rngBytes(rng, 32);
    return { envelope: sealWithKey(ctx, body, rs, messageKey, rng), messageKey };
  }

  /** Hand-off: same context and message key (attachments stay readable), new recipients. */
  function reseal(envelope, holder, recipients, rng = randomRng) {
    const rs = canonicalRecipients(recipients);
    const opened = openEnvelope(envelope, holder);
    try { return sealWithKey(opened.context, opened.body, rs, opened.messageKey, rng); } finally {
      sodium.memzero(opened.messageKey); sodium.memzero(opened.body);
    }
  }

  // -- part streams (SPEC §4) ----------------------------------------------------------
  const partAd = (ctx, part, chunk, commitment) => canonical(utf8('HLPT'), u8(1), u8(1), ...ctxFields(ctx, part), u32(chunk), commitment);
  const TAG_MESSAGE = 0, TAG_FINAL = 3, ABYTES = 17;

  function decryptPart(ctx, messageKey, part, data) {
    if (!Number.isInteger(part) || part < 1 || part > 0xffffffff) throw new Error('attachment parts are numbered from 1 (part 0 is the text)');
    if (messageKey.length !== 32) throw new Error('message key must be 32 bytes');
    checkPreamble(data, 'HLPT', 1, 1);
    const r = new Reader(data, DecryptionError);
    r.take(6);
    if (r.u32() !== part) r.fail('this stream is a different part of the message');
    const chunk = r.u32();
    if (chunk < 16 || chunk > MIB) r.fail('invalid chunk size');
    const commitment = r.take(32);
    if (!equal(commitment, keyCommitment(messageKey))) r.fail('key commitment mismatch');
    const header = r.take(24);
    const state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(header, partSubkey(messageKey, part));
    const ad = partAd(ctx, part, chunk, commitment);
    const pieces = [];
    for (;;) {
      const c = r.take(Math.min(chunk + ABYTES, r.remaining));
      if (c.length <= ABYTES) throw DecryptionError('truncated part stream');
      let res;
      try { res = sodium.crypto_secretstream_xchacha20poly1305_pull(state, c, ad); } catch { res = null; }
      if (!res) throw DecryptionError('authentication failed');
      pieces.push(res.message);
      if (res.tag === TAG_FINAL) break;
      if (res.tag !== TAG_MESSAGE) throw DecryptionError('unexpected secretstream tag');
      if (c.length < chunk + ABYTES) throw DecryptionError('truncated part stream');
    }
    if (r.remaining) throw DecryptionError('trailing bytes after the final chunk');
    const body = unpad(concat(...pieces));
    if (!body) throw DecryptionError('invalid padding');
    return body.slice();
  }

  /** Only for vectors and tests: the browser never writes attachments yet. */
  function encryptPart(ctx, messageKey, part, data, chunk = 65536, rng = randomRng) {
    const commitment = keyCommitment(messageKey);
    const header = rngBytes(rng, 24);
    const state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(header, partSubkey(messageKey, part));
    const ad = partAd(ctx, part, chunk, commitment);
    const plain = concat(data, new Uint8Array([0x80]), new Uint8Array(paddedLength(data.length) - data.length - 1));
    const out = [utf8('HLPT'), u8(1), u8(1), u32(part), u32(chunk), commitment, header];
    for (let at = 0; at < plain.length; at += chunk) {
      const last = at + chunk >= plain.length;
      out.push(sodium.crypto_secretstream_xchacha20poly1305_push(state, plain.subarray(at, at + chunk), ad, last ? TAG_FINAL : TAG_MESSAGE));
    }
    return concat(...out);
  }

  // -- identities and .pub files (SPEC §5) --------------------------------------------
  const SIG_PREFIX = utf8('hotline-sig-v1\0');
  const signedBytes = (purpose, m) => concat(SIG_PREFIX, lp32(utf8(purpose)), m);
  const bindingBlob = (name, boxPk, signPk) => concat(utf8('HLPK'), u8(1), u8(1), boxPk, signPk, str16(name));

  function checkName(name) {
    if (typeof name !== 'string' || !name || name !== name.trim() || utf8(name).length > 128
        || /[\p{Cc}\p{Zl}\p{Zp}\p{Cs}\u202a-\u202e\u2066-\u2069]/u.test(name)) {
      throw new Error('a name needs 1..128 bytes, no surrounding spaces or control characters');
    }
  }

  /** An advocate's secret keys; `forget()` wipes them (best effort: JS copies are not ours to wipe). */
  function identity(name, boxSecret, signSeed) {
    checkName(name);
    const sign = sodium.crypto_sign_seed_keypair(signSeed);
    const boxPublic = sodium.crypto_scalarmult_base(boxSecret);
    const id = {
      name, boxSecret, signSeed, boxPublic, signPublic: sign.publicKey,
      fingerprint: fingerprintOf(boxPublic, sign.publicKey),
      signExact: (data) => sodium.crypto_sign_detached(data, sign.privateKey),
      sign: (purpose, m) => sodium.crypto_sign_detached(signedBytes(purpose, m), sign.privateKey),
      forget() { for (const b of [boxSecret, signSeed, sign.privateKey]) sodium.memzero(b); },
    };
    return id;
  }
  const generateIdentity = (name, rng = randomRng) => identity(name, rngBytes(rng, 32), rngBytes(rng, 32));

  function pubFile(id) {
    const blob = bindingBlob(id.name, id.boxPublic, id.signPublic);
    const sig = id.sign('public-key-binding', blob);
    const b64 = sodium.to_base64(concat(blob, sig), sodium.base64_variants.ORIGINAL);
    return `hotline-public-key-v1\nname: ${id.name}\nfingerprint: ${id.fingerprint}\n${b64}\n`;
  }

  function isLowOrder(pk) {
    try { sodium.crypto_scalarmult(new Uint8Array(32).fill(1), pk); return false; } catch { return true; }
  }

  /** Parse and verify a .pub file (self-signature, fingerprint and name lines). */
  function parsePubFile(data) {
    let text;
    try { text = typeof data === 'string' ? data : fromUtf8(data); } catch { throw InvalidPublicKey('not a Hotline public key file'); }
    // SPEC §5: lines end in \n; only ASCII space, tab and CR are trimmed (not trim()'s Unicode set).
    const lines = text.split('\n').map((l) => l.replace(/^[ \t\r]+|[ \t\r]+$/g, '')).filter(Boolean);
    if (!lines.length || !lines[0].startsWith('hotline-public-key-')) throw InvalidPublicKey('not a Hotline public key file');
    if (lines[0] !== 'hotline-public-key-v1') throw InvalidPublicKey('unsupported public key file version');
    if (lines.length < 2) throw InvalidPublicKey('public key file is truncated');
    const info = {};
    for (const line of lines.slice(1, -1)) {
      const at = line.indexOf(': ');
      const key = at < 0 ? '' : line.slice(0, at);
      if (!['name', 'fingerprint'].includes(key) || key in info) throw InvalidPublicKey('unexpected line in public key file');
      info[key] = line.slice(at + 2);
    }
    let raw;
    try { raw = sodium.from_base64(lines.at(-1), sodium.base64_variants.ORIGINAL); } catch { throw InvalidPublicKey('key data is not valid base64'); }
    if (sodium.to_base64(raw, sodium.base64_variants.ORIGINAL) !== lines.at(-1)) throw InvalidPublicKey('key data is not canonical base64');
    const r = new Reader(raw, InvalidPublicKey);
    if (!equal(r.take(4), utf8('HLPK'))) r.fail('key data is not a Hotline public key');
    const version = r.u8(), suite = r.u8();
    if (version !== 1 || suite !== 1) r.fail(`unsupported public key version ${version} suite ${suite}`);
    const boxPublic = r.take(32).slice(), signPublic = r.take(32).slice();
    const name = r.str16(128);
    const blob = r.consumed().slice();
    const sig = r.take(64);
    r.finish();
    if (isLowOrder(boxPublic)) r.fail('box key is a low-order point');
    try { checkName(name); } catch (e) { r.fail(`invalid key data: ${e.message}`); }
    if (!sodium.crypto_sign_verify_detached(sig, signedBytes('public-key-binding', blob), signPublic)) r.fail('bad self-signature');
    const fingerprint = fingerprintOf(boxPublic, signPublic);
    if ('fingerprint' in info && info.fingerprint !== fingerprint) r.fail('fingerprint line does not match the key');
    if ('name' in info && info.name !== name) r.fail('name line does not match the signed name');
    return { name, boxPublic, signPublic, fingerprint };
  }

  // -- message signatures (SPEC §11) and key grants (SPEC §10): hlgrants.js ---------------
  const grants = createGrants({ sodium, Reader, errors: { DecryptionError, BadSignature, InvalidGrant: err('InvalidGrant') },
    signedBytes, checkContext, sameContext, checkPreamble, keyCommitment, sealBox, openBox, readHeader, openWithKey, randomRng });

  // -- key files (SPEC §6) -------------------------------------------------------------
  function parseKeyFile(data) {
    const r = new Reader(data, KeyFileError);
    if (r.remaining < 4 || !equal(r.take(4), utf8('HLKF'))) r.fail('not a Hotline key file');
    const version = r.u8();
    if (version !== 1) r.fail(`unsupported key file version ${version}`);
    const suite = r.u8();
    if (suite !== 1) r.fail(`unsupported key file suite ${suite}`);
    const opslimit = r.u32(), memlimit = r.u64();
    if (memlimit > 1024 * MIB) r.fail('Argon2id memory limit too large');
    if (opslimit > 16) r.fail('Argon2id operations limit too large');
    if (opslimit < 1 || memlimit < 8192) r.fail('Argon2id parameters below the libsodium minimum');
    const salt = r.take(16), nonce = r.take(24);
    const header = r.consumed();
    if (!equal(r.take(16), blake2b(16, header, null, 'hotline-kf-sum'))) r.fail('key file header is corrupted');
    const check = r.take(32);
    const length = r.u32();
    if (length <= 16 || length > 32 + 32 + 2 + 128 + 16) r.fail('key file is corrupted');
    const ad = r.consumed().slice();
    const ciphertext = r.take(length);
    r.finish();
    return { opslimit, memlimit, salt, nonce, check, ad, ciphertext };
  }

  function stretch(passphrase, salt, opslimit, memlimit) {
    const m = sodium.crypto_pwhash(32, utf8(passphrase.normalize('NFC')), salt, opslimit, memlimit,
      sodium.crypto_pwhash_ALG_ARGON2ID13);
    try { return [deriveSubkey(m, 'keyfile-passphrase-check'), deriveSubkey(m, 'keyfile-key')]; } finally { sodium.memzero(m); }
  }

  /** Unlock a `hotline keygen` file: all header checks run before Argon2id does. */
  function decryptIdentity(data, passphrase) {
    const h = parseKeyFile(data);
    const [check, key] = stretch(passphrase, h.salt, h.opslimit, h.memlimit);
    if (!equal(check, h.check)) throw WrongPassphrase('wrong passphrase');
    let plain;
    try { plain = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, h.ciphertext, h.ad, h.nonce, key); } catch {
      throw KeyFileError('key file is corrupted');
    } finally { sodium.memzero(key); }
    const r = new Reader(plain, KeyFileError);
    const boxSecret = r.take(32).slice(), signSeed = r.take(32).slice();
    const name = r.str16(128);
    r.finish();
    sodium.memzero(plain);
    try { return identity(name, boxSecret, signSeed); } catch { throw KeyFileError('key file contents are malformed'); }
  }

  function encryptIdentity(id, passphrase, [opslimit, memlimit] = KDF.PHONE, rng = randomRng) {
    if (!passphrase) throw new Error('passphrase must not be empty');
    const salt = rngBytes(rng, 16), nonce = rngBytes(rng, 24);
    const header = concat(utf8('HLKF'), u8(1), u8(1), u32(opslimit), u64(memlimit), salt, nonce);
    const [check, key] = stretch(passphrase, salt, opslimit, memlimit);
    const plain = concat(id.boxSecret, id.signSeed, str16(id.name));
    const ad = concat(header, blake2b(16, header, null, 'hotline-kf-sum'), check, u32(plain.length + 16));
    const out = concat(ad, sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, ad, null, nonce, key));
    sodium.memzero(plain); sodium.memzero(key);
    return out;
  }

  // -- login (SPEC §7), receipts (§8), at-rest (§9) ------------------------------------
  function loginMessage(origin, instanceId, fingerprint, nonce, expiresAt) {
    if (!origin || !instanceId) throw new Error('origin and instance_id must not be empty');
    if (!isFingerprint(fingerprint)) throw new Error('fingerprint is not in canonical form');
    if (nonce.length !== 32) throw new Error('login nonce must be 32 bytes');
    return concat(utf8('hotline-auth-v1\0'), canonical(utf8(origin), utf8(instanceId), utf8(fingerprint), nonce, u64(expiresAt)));
  }
  const signLogin = (id, origin, instanceId, fp, nonce, exp) => id.signExact(loginMessage(origin, instanceId, fp, nonce, exp));

  function deriveReceiptKeys(entropy) {
    if (entropy.length < 16 || entropy.length > 64) throw new Error('receipt entropy must be 16..64 bytes');
    const kp = sodium.crypto_box_seed_keypair(labelledPrf(entropy, 'receipt-reply-seed'));
    return { lookupId: labelledPrf(entropy, 'receipt-lookup'), boxPublic: kp.publicKey, boxSecret: kp.privateKey,
      fingerprint: fingerprintOf(kp.publicKey, new Uint8Array(32)) };
  }

  function unwrapAtRest(storageKey, wrapped, label) {
    checkPreamble(wrapped, 'HLAR', 1, 1);
    if (wrapped.length < 30 + 16) throw DecryptionError('truncated');
    const ad = canonical(utf8('HLAR'), u8(1), u8(1), utf8(label));
    try {
      return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, wrapped.subarray(30), ad, wrapped.subarray(6, 30), deriveSubkey(storageKey, 'at-rest-wrap'));
    } catch { throw DecryptionError('authentication failed'); }
  }

  return {
    blake2b, labelledPrf, deriveSubkey, keyedHash, fingerprintOf, keyCommitment, partSubkey, seededRng,
    sealBox, openBox, parseEnvelope, readHeader, openEnvelope, openWithKey, seal, reseal, decryptPart, encryptPart,
    ...grants,
    identity, generateIdentity, pubFile, parsePubFile, parseKeyFile, decryptIdentity, encryptIdentity,
    loginMessage, signLogin, deriveReceiptKeys, unwrapAtRest, verifyDetached: (sig, m, pk) => sodium.crypto_sign_verify_detached(sig, m, pk),
    toBase64: (b) => sodium.to_base64(b, sodium.base64_variants.ORIGINAL),
    fromBase64: (s) => sodium.from_base64(s, sodium.base64_variants.ORIGINAL),
    memzero: (b) => sodium.memzero(b),
  };
}
