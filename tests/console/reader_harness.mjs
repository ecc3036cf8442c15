// The console's crypto readers behind a line protocol, for the differential test
// (tests/console/test_reader_diff.py). One long-lived process: each stdin line is
// a JSON request {kind, input (base64), ...args}; each stdout line is the verdict
// {"ok": true, "result": {...}} or {"ok": false, "error": "<error class>"}.
// tests/helpers/reader_diff.py computes Python's verdict for the same request the
// same way, and the test requires the two to be identical.
import { createInterface } from 'node:readline';
import sodium from 'libsodium-wrappers-sumo';
import { createCrypto, CryptoError, hex, unhex } from '../../hotline/console/static/js/hlcrypto.js';
import { authorship } from '../../hotline/console/static/js/verify.js';

await sodium.ready;
const C = createCrypto(sodium);
const b64 = (s) => Uint8Array.from(Buffer.from(s, 'base64'));
const holderOf = (h) => C.identity(h.name, unhex(h.box_secret), unhex(h.sign_seed));
const ctxOut = (c) => ({ instance_id: c.instance_id, tip_id: c.tip_id, message_id: c.message_id,
  direction: c.direction, channel: c.channel });
function keysOf(pubFiles) {
  const keys = new Map();
  for (const p of pubFiles || []) { const pub = C.parsePubFile(b64(p)); keys.set(pub.fingerprint, pub); }
  return keys;
}

const KINDS = {
  envelope(q, data) {
    const o = C.openEnvelope(data, holderOf(q.holder), q.expected || null);
    return { context: ctxOut(o.context), body: hex(o.body), message_key: hex(o.messageKey), recipients: o.recipients };
  },
  header(q, data) {
    const h = C.readHeader(data);
    return { context: ctxOut(h.context), recipients: h.recipients, commitment: hex(h.commitment) };
  },
  part(q, data) {
    return { body: hex(C.decryptPart(q.context, unhex(q.message_key), q.part, data)) };
  },
  pubfile(q, data) {
    const p = C.parsePubFile(data);
    return { name: p.name, box_public: hex(p.boxPublic), sign_public: hex(p.signPublic), fingerprint: p.fingerprint };
  },
  keyfile(q, data) {
    const h = C.parseKeyFile(data);
    return { opslimit: h.opslimit, memlimit: h.memlimit, salt: hex(h.salt), nonce: hex(h.nonce), check: hex(h.check),
      ad: hex(h.ad), ciphertext: hex(h.ciphertext) };
  },
  keyfile_open(q, data) {
    const id = C.decryptIdentity(data, q.passphrase);
    return { name: id.name, box_secret: hex(id.boxSecret), sign_seed: hex(id.signSeed) };
  },
  atrest(q, data) {
    return { blob: hex(C.unwrapAtRest(unhex(q.storage_key), data, q.label)) };
  },
  grant(q, data) {
    const g = C.parseGrant(data);
    return { context: ctxOut(g.context), commitment: hex(g.commitment), grantor: g.grantor, grantee: g.grantee,
      sealed_key: hex(g.sealedKey), signature: hex(g.signature) };
  },
  grants(q, data) {
    const grants = [...q.grants.map(b64), data];
    const keys = keysOf(q.keys);
    const checked = C.checkGrants(C.readHeader(b64(q.envelope)), grants, keys);
    const out = { accepted: checked.accepted.map((g) => [g.grantor, g.grantee]), rejected: checked.rejected.length };
    try {
      const got = C.openGranted(b64(q.envelope), holderOf(q.holder), grants, keys, q.expected || null);
      out.opened = { body: hex(got.opened.body), grantor: got.grant.grantor };
    } catch (e) { out.opened = errorClass(e); }
    return out;
  },
  signed(q, data) {
    const doc = C.decodeBody(data);
    const a = authorship(C, q.direction, doc, q.context, keysOf(q.keys));
    return a && { status: a.status, fingerprint: a.fingerprint, name: a.name };
  },
};

function errorClass(e) {
  if (e instanceof CryptoError) return e.kind;
  if (e instanceof SyntaxError) return 'ValueError';  // JSON.parse: Python's json raises ValueError
  if (e && e.constructor === Error) return 'ValueError';  // a refused argument (Python: ValueError)
  return `internal ${e && e.name}: ${e && e.message}`;
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  let out;
  try {
    const q = JSON.parse(line);
    out = { ok: true, result: KINDS[q.kind](q, b64(q.input)) };
  } catch (e) {
    out = { ok: false, error: errorClass(e) };
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
