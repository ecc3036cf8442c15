/**
 * What an advocate does to a tip, decrypting and sealing only here (as
 * hotline/client/advocate.py does for the CLI). Public keys the server hands
 * out are checked before use: self-signed, and the fingerprint they claim.
 */

import { verifiedKeys, openMessage, authorship, who } from './verify.js';

const URGENCY_ORDER = ['low', 'normal', 'high', 'critical'];
export const TEXT_CHANNELS = ['sms', 'whatsapp'];

export function newMessageId() {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bytes = crypto.getRandomValues(new Uint8Array(26));
  return `m${Array.from(bytes, (b) => alphabet[b & 31]).join('')}`;
}

const contextOf = (tip, m) => ({ instance_id: tip.instance_id, tip_id: tip.id, message_id: m.id,
  direction: m.direction, channel: m.channel || tip.channel });  // each message's own channel

/** Open every message we can (as a recipient or through a verified grant); one that does
 * not open says why instead. Each advocate message carries its verified author. */
export function openTip(C, me, tip) {
  const keys = verifiedKeys(C, tip.keys);
  return tip.messages.map((m) => {
    const out = { ...m, context: contextOf(tip, m) };
    try {
      const { opened, grantedBy } = openMessage(C, me, m, keys, out.context);
      const doc = C.decodeBody(opened.body);
      C.memzero(opened.body);
      return { ...out, doc, messageKey: opened.messageKey, sealedTo: opened.recipients,
        signature: authorship(C, m.direction, doc, out.context, keys),
        grantedBy: grantedBy && who(grantedBy, keys) };
    } catch (e) {
      return { ...out, error: e.message || String(e) };
    }
  });
}

export function forgetOpened(messages) {
  for (const m of messages || []) {
    if (m.messageKey) m.messageKey.fill(0);
    m.doc = null;
  }
}

export async function attachment(C, api, tip, m, part) {
  const blob = await api.bytes(`/api/tips/${encodeURIComponent(tip.id)}/messages/${encodeURIComponent(m.id)}/attachments/${part}`);
  return C.decryptPart(m.context, m.messageKey, part, blob);
}

function verified(C, entry) {
  const pub = C.parsePubFile(C.fromBase64(entry.pub_file));
  if (pub.fingerprint !== entry.fingerprint) throw new Error('the server sent a public key whose fingerprint does not match');
  return { fingerprint: pub.fingerprint, boxPublic: pub.boxPublic, name: pub.name };
}

/** Whom a new message on this tip is sealed to, each key checked here. */
export async function recipientsFor(C, api, me, tipId, toReporter) {
  const r = await api.get(`/api/tips/${encodeURIComponent(tipId)}/recipients`);
  const list = [verified(C, r.recovery), ...r.advocates.map((a) => verified(C, a))];
  if (toReporter && r.channel === 'web') {
    if (!r.reporter) throw new Error('this tip has no reporter key to reply to');
    list.push({ fingerprint: r.reporter.fingerprint, boxPublic: C.fromBase64(r.reporter.box_public) });
  }
  if (!list.some((x) => x.fingerprint === me.fingerprint)) list.push({ fingerprint: me.fingerprint, boxPublic: me.boxPublic });
  return { instanceId: r.instance_id, channel: r.channel, list, raw: r };
}

/** Reply (sealed to the receipt key on the web; texted through the API for SMS) or private
 * note, signed by the author over (context, text). */
export async function send(C, api, me, tip, opened, text, note) {
  const { instanceId, channel, list } = await recipientsFor(C, api, me, tip.id, !note);
  const direction = note ? 'note' : 'out';
  const texting = !note && TEXT_CHANNELS.includes(channel);
  const id = newMessageId();
  const ctx = { instance_id: instanceId, tip_id: tip.id, message_id: id, direction, channel };
  const signature = C.signMessage(me, ctx, text);
  const request = { id, direction };
  if (texting) {  // the server seals the record from the very text it sends (SPEC §11)
    const from = [...opened].reverse().find((m) => m.direction === 'in' && m.doc && m.doc.sender);
    if (!from) throw new Error('no message of this tip that your key opens carries the reporter\'s number');
    Object.assign(request, { to: from.doc.sender, text, signature: C.toBase64(signature) });
  } else {
    const sealed = C.seal(ctx, C.signedBody(text, me.fingerprint, signature), list);
    sealed.messageKey.fill(0);
    request.envelope = C.toBase64(sealed.envelope);
  }
  const result = await api.post(`/api/tips/${encodeURIComponent(tip.id)}/messages`, request);
  if (texting && (!result.delivery || result.delivery.status !== 'sent')) {
    const why = (result.delivery && result.delivery.error) || 'no answer about delivery';
    throw new Error(`stored but not sent yet (${why})`);
  }
  return result;
}

/** The rules' view of this tip from our own decrypted copy: rule ids and urgencies only. */
export function ruleFeedback(opened) {
  const decisions = opened.filter((m) => m.direction === 'in' && m.doc && m.doc.triage && typeof m.doc.triage === 'object').map((m) => m.doc.triage);
  if (!decisions.length) return null;
  return {
    rules: [...new Set(decisions.flatMap((d) => d.rules || []))].sort(),
    // the rules' own urgency: a raise by the second reader is not the rules' doing
    rules_urgency: decisions.map((d) => d.rules_urgency || d.urgency).reduce((a, b) => (URGENCY_ORDER.indexOf(b) > URGENCY_ORDER.indexOf(a) ? b : a)),
    ruleset_version: decisions.at(-1).ruleset_version,
  };
}

export function triage(api, tip, opened, urgency, status) {
  const body = {};
  if (urgency) { body.urgency = urgency; body.feedback = ruleFeedback(opened); }
  if (status) body.status = status;
  return api.post(`/api/tips/${encodeURIComponent(tip.id)}/triage`, body);
}

export async function colleagues(C, api) {
  const { advocates } = await api.get('/api/advocates');
  return advocates.map((a) => { try { return verified(C, a); } catch { return null; } }).filter(Boolean);
}

/**
 * Hand-off: grant every message we can open to the colleague, whose fingerprint
 * the advocate has confirmed out of band. Nothing stored is replaced: each grant
 * seals the message key to the colleague and is signed by us (SPEC §10).
 */
export async function handoff(C, api, me, tip, colleague, confirmedFingerprint) {
  if (confirmedFingerprint.trim().toUpperCase() !== colleague.fingerprint) {
    throw new Error('the fingerprint you confirmed is not this colleague\'s key');
  }
  const fresh = await api.get(`/api/tips/${encodeURIComponent(tip.id)}`);
  const keys = verifiedKeys(C, fresh.keys);
  const grants = [];
  for (const m of fresh.messages) {
    let found;
    try {
      const header = C.readHeader(C.fromBase64(m.envelope));
      if (header.recipients.includes(colleague.fingerprint)) continue;
      if ((m.grants || []).some((g) => { try { return C.parseGrant(C.fromBase64(g)).grantee === colleague.fingerprint; } catch { return false; } })) continue;
      found = openMessage(C, me, m, keys, header.context);
    } catch { continue; }
    try {
      grants.push({ id: m.id, grant: C.toBase64(C.makeGrant(found.opened, me, colleague)) });
    } finally { C.memzero(found.opened.messageKey); C.memzero(found.opened.body); }
  }
  if (!grants.length) throw new Error('none of this tip\'s messages opens with your key, or the colleague can read them all already');
  return api.post(`/api/tips/${encodeURIComponent(tip.id)}/handoff`, { to: colleague.fingerprint, grants });
}
