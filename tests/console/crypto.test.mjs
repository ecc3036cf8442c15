// Replays every vector in crypto/vectors/ through the console's JS crypto module,
// so the browser and the Python implementation cannot drift. Run: node --test tests/console/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import sodium from 'libsodium-wrappers-sumo';
import { createCrypto, unhex, hex, utf8, fromUtf8, paddedLength } from '../../hotline/console/static/js/hlcrypto.js';

await sodium.ready;
const C = createCrypto(sodium);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const vectorDir = path.join(root, 'crypto/vectors');
const V = (name) => JSON.parse(readFileSync(path.join(vectorDir, name), 'utf8'));
const covered = new Set();
const load = (name) => { covered.add(name); return V(name); };
const ident = (i) => C.identity(i.name, unhex(i.box_secret), unhex(i.sign_seed));

test('rng: the seeded test rng replays', () => {
  const v = load('rng.json');
  const rng = C.seededRng(unhex(v.seed));
  assert.deepEqual([32, 24, 7].map((n) => hex(rng(n))), v.outputs);
});

test('kdf: subkeys, keyed hash, commitment, part keys, fingerprint, padding', () => {
  const v = load('kdf.json');
  for (const s of v.subkeys) assert.equal(hex(C.deriveSubkey(unhex(v.master), s.label, s.length)), s.output);
  assert.equal(hex(C.keyedHash(unhex(v.keyed_hash.key), unhex(v.keyed_hash.data))), v.keyed_hash.output);
  assert.equal(hex(C.keyCommitment(unhex(v.message_key))), v.key_commitment);
  for (const [part, key] of Object.entries(v.part_subkeys)) assert.equal(hex(C.partSubkey(unhex(v.message_key), Number(part))), key);
  const f = v.fingerprint;
  assert.equal(C.fingerprintOf(unhex(f.box_public), unhex(f.sign_public)), f.fingerprint);
  for (const [n, bucket] of Object.entries(v.padding)) assert.equal(paddedLength(Number(n)), bucket);
});

test('envelope: opens for each recipient, reseal and seal replay byte for byte', () => {
  const v = load('envelope.json');
  const ids = Object.fromEntries(v.identities.map((i) => [i.fingerprint, ident(i)]));
  const env = unhex(v.envelope);
  const header = C.readHeader(env);
  assert.deepEqual(header.context, v.context);
  for (const fp of header.recipients) {
    const opened = C.openEnvelope(env, ids[fp], v.context);
    assert.equal(hex(opened.body), v.body);
    assert.equal(hex(opened.messageKey), v.message_key);
  }
  const outsider = Object.values(ids).find((i) => !header.recipients.includes(i.fingerprint));
  assert.throws(() => C.openEnvelope(env, outsider), { kind: 'NotARecipient' });
  assert.throws(() => C.openEnvelope(env, ids[header.recipients[0]], { ...v.context, tip_id: 'tip-0002' }), { kind: 'DecryptionError' });
  const recipientsOf = (fps) => fps.map((fp) => ({ fingerprint: fp, boxPublic: ids[fp].boxPublic }));
  // seal: recipients as the generator gave them (two of the three identities)
  const sealed = C.seal(v.context, unhex(v.body), recipientsOf(header.recipients), C.seededRng(unhex(v.seal_seed)));
  assert.equal(hex(sealed.envelope), v.envelope);
  const re = C.reseal(env, ids[v.reseal.holder], recipientsOf(v.reseal.recipients), C.seededRng(unhex(v.reseal.seed)));
  assert.equal(hex(re), v.reseal.envelope);
  for (const fp of v.reseal.recipients) assert.equal(hex(C.openEnvelope(re, ids[fp]).body), v.body);
});

test('envelope: every flipped byte is refused', () => {
  const v = V('envelope.json');
  const alice = ident(v.identities[0]);
  const env = unhex(v.envelope);
  for (let i = 0; i < env.length; i += 7) {
    const bad = env.slice(); bad[i] ^= 1;
    assert.throws(() => C.openEnvelope(bad, alice), (e) => e.kind !== undefined, `byte ${i}`);
  }
  assert.throws(() => C.openEnvelope(env.subarray(0, env.length - 1), alice), { kind: 'DecryptionError' });
  assert.throws(() => C.openEnvelope(new Uint8Array([...env, 0]), alice), { kind: 'DecryptionError' });
});

test('part: streams decrypt, replay, and refuse truncation', () => {
  const v = load('part.json');
  const key = unhex(v.message_key);
  for (const s of v.streams) {
    const stream = unhex(s.stream);
    assert.equal(hex(C.decryptPart(v.context, key, s.part, stream)), s.plaintext);
    assert.equal(hex(C.encryptPart(v.context, key, s.part, unhex(s.plaintext), s.chunk_size, C.seededRng(unhex(s.seed)))), s.stream);
    assert.throws(() => C.decryptPart(v.context, key, s.part, stream.subarray(0, stream.length - 1)), { kind: 'DecryptionError' });
    assert.throws(() => C.decryptPart(v.context, key, s.part + 1, stream), { kind: 'DecryptionError' });
  }
});

test('keyfile: unlocks (NFC and NFD), refuses a wrong passphrase, replays', () => {
  const v = load('keyfile.json');
  const data = unhex(v.keyfile);
  for (const p of [v.passphrase, v.passphrase.normalize('NFD')]) {
    const id = C.decryptIdentity(data, p);
    assert.equal(id.fingerprint, v.identity.fingerprint);
    assert.equal(id.name, v.identity.name);
    assert.equal(hex(id.boxPublic), v.identity.box_public);
  }
  assert.throws(() => C.decryptIdentity(data, 'wrong'), { kind: 'WrongPassphrase' });
  const big = data.slice(); big[17] = 0x7f;  // memlimit's top byte: refused before Argon2id runs
  assert.throws(() => C.decryptIdentity(big, v.passphrase), { kind: 'KeyFileError' });
  const again = C.encryptIdentity(ident(v.identity), v.passphrase, [v.opslimit, v.memlimit], C.seededRng(unhex(v.seed)));
  assert.equal(hex(again), v.keyfile);
});

test('pubfile: parses, verifies, and is rewritten byte for byte', () => {
  const v = load('pubfile.json');
  const pub = C.parsePubFile(v.pub_file);
  assert.equal(pub.fingerprint, v.identity.fingerprint);
  assert.equal(hex(pub.boxPublic), v.identity.box_public);
  assert.equal(C.pubFile(ident(v.identity)), v.pub_file);
  assert.throws(() => C.parsePubFile(v.pub_file.replace('name: Alice Advocate', 'name: Mallory')), { kind: 'InvalidPublicKey' });
  const lines = v.pub_file.split('\n');
  const raw = C.fromBase64(lines[3]); raw[10] ^= 1;  // swap a bit of the box key: self-signature fails
  assert.throws(() => C.parsePubFile([lines[0], C.toBase64(raw)].join('\n')), { kind: 'InvalidPublicKey' });
});

test('login: message and signature', () => {
  const v = load('login.json');
  const id = ident(v.identity);
  const msg = C.loginMessage(v.origin, v.instance_id, v.fingerprint, unhex(v.nonce), v.expires_at);
  assert.equal(hex(msg), v.message);
  assert.equal(hex(C.signLogin(id, v.origin, v.instance_id, v.fingerprint, unhex(v.nonce), v.expires_at)), v.signature);
});

test('receipt: lookup id and reply key', () => {
  const v = load('receipt.json');
  const r = C.deriveReceiptKeys(unhex(v.entropy));
  assert.equal(hex(r.lookupId), v.lookup_id);
  assert.equal(hex(r.boxPublic), v.reply_box_public);
  assert.equal(hex(r.boxSecret), v.reply_box_secret);
  assert.equal(r.fingerprint, v.reply_fingerprint);
});

test('atrest: unwraps under its label only', () => {
  const v = load('atrest.json');
  assert.equal(hex(C.unwrapAtRest(unhex(v.storage_key), unhex(v.wrapped), v.label)), v.blob);
  assert.throws(() => C.unwrapAtRest(unhex(v.storage_key), unhex(v.wrapped), 'tip-0002'), { kind: 'DecryptionError' });
});

test('grant: replays, opens through grants and chains, refuses tampering', () => {
  const v = load('grant.json');
  const ids = Object.fromEntries(v.identities.map((i) => [i.fingerprint, ident(i)]));
  const keys = new Map(Object.values(ids).map((i) => [i.fingerprint, C.parsePubFile(C.pubFile(i))]));
  const env = unhex(v.envelope);
  const grants = v.grants.map((g) => unhex(g.grant));
  const header = C.readHeader(env);
  for (const g of v.grants) {
    const grantor = ids[g.grantor];
    const opened = header.recipients.includes(g.grantor) ? C.openEnvelope(env, grantor)
      : C.openGranted(env, grantor, grants, keys).opened;
    assert.equal(hex(C.makeGrant(opened, grantor, ids[g.grantee], C.seededRng(unhex(g.seed)))), g.grant);
    const got = C.openGranted(env, ids[g.grantee], grants, keys, v.context);
    assert.equal(hex(got.opened.body), v.body);
  }
  const dave = ids[v.grants[2].grantee];
  assert.throws(() => C.openGranted(env, dave, [grants[2]], keys), { kind: 'DecryptionError', message: /never given this message/ });
  const carol = ids[v.grants[0].grantee];
  for (let i = 0; i < grants[0].length; i += 5) {
    const bad = grants[0].slice(); bad[i] ^= 1;
    assert.throws(() => C.openGranted(env, carol, [bad], keys), { kind: 'DecryptionError' }, `byte ${i}`);
  }
  // a genuine grant of another envelope's key, and a key that does not match the commitment
  const alice = ids[v.grants[0].grantor];
  const other = C.seal(v.context, utf8('false alarm'), [{ fingerprint: alice.fingerprint, boxPublic: alice.boxPublic }]);
  const foreign = C.makeGrant(C.openEnvelope(other.envelope, alice), alice, carol);
  assert.throws(() => C.openGranted(env, carol, [foreign], keys), { message: /another key/ });
  assert.throws(() => C.openWithKey(env, other.messageKey), { kind: 'DecryptionError', message: /commitment/ });
});

test('signature: message signature, signed body, and refusals', () => {
  const v = load('signature.json');
  const id = ident(v.identity);
  assert.equal(v.purpose, 'advocate-message');
  assert.equal(hex(C.messageToSign(v.context, v.text)), v.message);
  const sig = C.signMessage(id, v.context, v.text);
  assert.equal(hex(sig), v.signature);
  assert.equal(fromUtf8(C.signedBody(v.text, id.fingerprint, sig)), v.body);
  const pub = C.parsePubFile(C.pubFile(id));
  const signed = C.parseSigned(JSON.parse(v.body));
  C.verifyMessage(pub, v.context, signed.text, signed.signature);
  assert.throws(() => C.verifyMessage(pub, v.context, `${v.text}!`, signed.signature), { kind: 'BadSignature' });
  assert.throws(() => C.verifyMessage(pub, { ...v.context, message_id: 'msg-0003' }, v.text, signed.signature), { kind: 'BadSignature' });
  assert.throws(() => C.parseSigned({ ...JSON.parse(v.body), v: 1 }), { kind: 'BadSignature' });
});

test('every vector file is covered', { concurrency: false }, () => {
  const files = readdirSync(vectorDir).filter((f) => f.endsWith('.json')).sort();
  assert.deepEqual([...covered].sort(), files);
  assert.equal(fromUtf8(utf8('ñ')), 'ñ');
});
