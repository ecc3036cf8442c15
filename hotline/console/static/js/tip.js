/** One tip: decrypted messages, attachments, pages, triage, ack, reply, note, hand-off. */

import { h, show, field, errorBox, download, announce } from './ui.js';
import { t } from './i18n.js';
import { openTip, forgetOpened, attachment, send, triage, colleagues, handoff, TEXT_CHANNELS } from './tipops.js';
import { ApiError } from './api.js';
import { deletionSection } from './deletion.js';

const URGENCIES = ['critical', 'high', 'normal', 'low'];
const STATUSES = ['new', 'acknowledged', 'in_progress', 'closed'];
const path = (id) => `/api/tips/${encodeURIComponent(id)}`;

export async function tipView(app, tipId) {
  const tip = await app.api.get(path(tipId));
  forgetOpened(app.opened);
  app.opened = openTip(app.C, app.me, tip);
  const pages = await app.api.get(`/api/tips/${encodeURIComponent(tipId)}/pages`).catch((e) => {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  });
  app.sealedNames = await sealedNames(app, tipId);
  const rerender = () => tipView(app, tipId);
  show(app.main, h('article', { class: 'tipview' },
    h('button', { type: 'button', class: 'link', text: t('tip.back'), on: { click: () => app.showInbox() } }),
    h('h1', { text: t('tip.title', { ref: tip.ref }) }),
    h('p', { class: 'meta' },
      h('span', { class: `badge u-${tip.urgency}`, text: t(`u.${tip.urgency}`) }), ' ',
      `${t(`c.${tip.channel}`)} · ${t(`s.${tip.status}`)} · ${new Date(tip.created_at).toLocaleString()}`),
    h('section', { 'aria-label': t('inbox') }, app.opened.map((m) => message(app, m))),
    deletionSection(app, tip, rerender),
    pages ? pagesSection(pages) : null,
    controls(app, tip, rerender),
    replyForm(app, tip, false, rerender),
    replyForm(app, tip, true, rerender),
    handoffForm(app, tip)));
}

function message(app, m) {
  const who = t(`d.${m.direction}`);
  const head = h('h2', { class: 'msg-head' }, `${who}`,
    m.doc && m.doc.sender ? ` ${t('tip.from', { s: m.doc.sender })}` : '',
    h('time', { datetime: m.created_at, text: ` ${new Date(m.created_at).toLocaleString()}` }));
  if (m.error) return h('div', { class: `msg d-${m.direction}` }, head, h('p', { class: 'error', text: t('tip.cannot', { e: m.error }) }));
  const atts = (m.doc.attachments || []).map((a) => attachmentControl(app, m, a));
  return h('div', { class: `msg d-${m.direction}`, 'data-message': m.id }, head,
    authorLine(m.signature), sharedLine(m.grantedBy),
    h('p', { class: 'body', lang: m.doc.lang || undefined, text: m.doc.text || '' }),
    atts.length ? h('div', { class: 'atts' }, atts) : null,
    m.delivery ? h('p', { class: 'hint', text: t('tip.delivery', { s: m.delivery.status }) }) : null,
    h('details', {}, h('summary', { text: t('tip.sealed', { f: m.sealedTo.length }) }),
      h('ul', { class: 'fps' }, m.sealedTo.map((fp) => h('li', { text: sealedLabel(app, fp) })))));
}

/**
 * Who each "sealed to" fingerprint is: you, a colleague by the name in their checked public
 * key, the organisation's recovery key, the reporter's receipt key; anyone else stays a bare
 * fingerprint, marked so (a key no longer on the team, or one we could not check).
 */
async function sealedNames(app, tipId) {
  const names = new Map([[app.me.fingerprint, t('fp.you')]]);
  try {
    for (const c of await colleagues(app.C, app.api)) if (!names.has(c.fingerprint)) names.set(c.fingerprint, c.name);
    const r = await app.api.get(`${path(tipId)}/recipients`);
    if (r.recovery) names.set(r.recovery.fingerprint, t('fp.recovery'));
    if (r.reporter) names.set(r.reporter.fingerprint, t('fp.reporter'));
  } catch { /* names are a help; the fingerprints still show */ }
  return names;
}

function sealedLabel(app, fp) {
  const name = app.sealedNames && app.sealedNames.get(fp);
  return name ? `${name} — ${fp}` : `${fp} (${t('fp.unknown')})`;
}

/** Who wrote it: only a verified signature names someone (name from their signed key). */
function authorLine(sig) {
  if (!sig) return null;
  if (sig.status === 'verified') {
    return h('p', { class: 'author verified', 'data-author': 'verified', text: t('tip.author', { n: sig.name, f: sig.fingerprint }) });
  }
  if (sig.status === 'unsigned') return h('p', { class: 'author unsigned', 'data-author': 'unsigned', text: t('tip.unsigned') });
  return h('p', { class: 'author invalid', 'data-author': 'invalid', role: 'alert', text: t('tip.badsig', { e: sig.reason }) });
}

function sharedLine(g) {
  return g ? h('p', { class: 'hint shared', text: t('tip.granted', { n: g.name || '?', f: g.fingerprint }) }) : null;
}

function attachmentControl(app, m, a) {
  const audio = (a.content_type || '').startsWith('audio/');
  const slot = h('div', { class: 'att' });
  const name = a.name || `attachment-${a.part}`;
  const btn = h('button', { type: 'button', text: t(audio ? 'tip.play' : 'tip.download', { n: name }), on: { click: async () => {
    btn.disabled = true;
    try {
      const bytes = await attachment(app.C, app.api, { id: m.context.tip_id }, m, a.part);
      if (audio) {
        const url = URL.createObjectURL(new Blob([bytes], { type: a.content_type }));
        app.objectUrls.push(url);
        const player = h('audio', { controls: true, src: url, 'aria-label': name });
        slot.append(player, h('button', { type: 'button', text: t('tip.download', { n: name }),
          on: { click: () => download(safeName(name), bytes, a.content_type) } }));
        player.play().catch(() => {});
        btn.remove();
        return;
      }
      download(safeName(name), bytes, a.content_type || 'application/octet-stream');
    } catch (e) {
      slot.append(errorBox(t('error', { e: e.message })));
    } finally { btn.disabled = false; }
  } } });
  slot.prepend(btn);
  return slot;
}

const safeName = (n) => (n.split(/[\\/]/).pop().replace(/[^\p{L}\p{N}._ -]/gu, '').trim() || 'attachment').slice(0, 100);

function pagesSection(p) {
  return h('section', { class: 'card' },
    h('h2', { text: t('tip.pages') }),
    h('p', { text: p.acked_at ? t('tip.acked', { who: p.acked_by || '?', at: new Date(p.acked_at).toLocaleString() }) : t('tip.notacked') }),
    h('ol', { class: 'pages' }, (p.pages || []).map((x) => h('li', { text: pageLine(x) }))));
}

/** "Level 1: demo, by text message — sent, 3 Dec 14:37" rather than the raw fields. */
function pageLine(x) {
  const via = t(`via.${x.notifier}`) === `via.${x.notifier}` ? x.notifier : t(`via.${x.notifier}`);
  const status = t(`ps.${x.status}`) === `ps.${x.status}` ? x.status : t(`ps.${x.status}`);
  return t('tip.pageline', { step: x.step, who: x.advocate, via, status, at: new Date(x.at).toLocaleString() });
}

function select(options, value, labelKey) {
  return h('select', {}, options.map((o) => h('option', { value: o, selected: o === value, text: t(`${labelKey}.${o}`) })));
}

function controls(app, tip, rerender) {
  const urgency = select(URGENCIES, tip.urgency, 'u');
  const status = select(STATUSES, tip.status, 's');
  const msg = h('div', { 'aria-live': 'polite' });
  urgency.name = 'urgency'; status.name = 'status';
  const form = h('form', { class: 'card', on: { submit: async (ev) => {
    ev.preventDefault();
    try {
      await triage(app.api, tip, app.opened, urgency.value !== tip.urgency ? urgency.value : null,
        status.value !== tip.status ? status.value : null);
      announce(t('tip.saved'));
      await rerender();
    } catch (e) { msg.replaceChildren(errorBox(t('error', { e: e.message }))); }
  } } },
  h('h2', { text: t('tip.triage') }),
  h('div', { class: 'row' }, field(t('col.urgency'), urgency), field(t('col.status'), status)),
  h('div', { class: 'row' },
    h('button', { type: 'submit', text: t('tip.save') }),
    h('button', { type: 'button', class: 'primary', name: 'ack', text: t('tip.ack'), disabled: Boolean(tip.acked_at), on: { click: async () => {
      try { await app.api.post(`${path(tip.id)}/ack`); announce(t('tip.ackdone')); await rerender(); } catch (e) {
        msg.replaceChildren(errorBox(t('error', { e: e.message })));
      }
    } } })), msg);
  return form;
}

function replyForm(app, tip, note, rerender) {
  const canReply = tip.channel === 'web' || TEXT_CHANNELS.includes(tip.channel);
  // autocomplete=off: the browser then neither suggests nor saves what is typed here into its
  // session-restore files on disk (Chromium keeps form state for every other field).
  const text = h('textarea', { rows: 3, name: note ? 'note' : 'reply', required: true, maxlength: '1600', autocomplete: 'off' });
  const msg = h('div', { 'aria-live': 'polite' });
  const hint = note ? null : t(!canReply ? 'tip.noreply' : tip.channel === 'web' ? 'tip.replyweb' : 'tip.replysms');
  return h('form', { class: 'card', autocomplete: 'off', on: { submit: async (ev) => {
    ev.preventDefault();
    if (!text.value.trim()) return;
    try {
      await send(app.C, app.api, app.me, tip, app.opened, text.value, note);
      text.value = '';
      announce(t('tip.sent'));
      await rerender();
    } catch (e) { msg.replaceChildren(errorBox(t('error', { e: e.message }))); }
  } } },
  h('h2', { text: t(note ? 'tip.note' : 'tip.reply') }),
  field(t(note ? 'tip.notetext' : 'tip.replytext'), text, hint),
  h('button', { type: 'submit', text: t('tip.send'), disabled: !note && !canReply }), msg);
}

function handoffForm(app, tip) {
  const who = h('select', { name: 'colleague' }, h('option', { value: '', text: t('tip.choose') }));
  const theirs = h('p', { class: 'fingerprint' });
  const confirm = h('input', { type: 'text', name: 'fingerprint', autocomplete: 'off', spellcheck: false, autocapitalize: 'characters' });
  const msg = h('div', { 'aria-live': 'polite' });
  let people = [];
  colleagues(app.C, app.api).then((list) => {
    people = list.filter((p) => p.fingerprint !== app.me.fingerprint);
    who.append(...people.map((p) => h('option', { value: p.fingerprint, text: p.name })));
  }).catch(() => {});
  who.addEventListener('change', () => { theirs.textContent = who.value ? t('tip.theirfp', { f: who.value }) : ''; });
  return h('form', { class: 'card', on: { submit: async (ev) => {
    ev.preventDefault();
    const colleague = people.find((p) => p.fingerprint === who.value);
    if (!colleague) return;
    try {
      const r = await handoff(app.C, app.api, app.me, tip, colleague, confirm.value);
      msg.replaceChildren(h('p', { role: 'status', text: t('tip.handedoff', { n: colleague.name, k: r.granted, t: r.messages }) }));
    } catch (e) { msg.replaceChildren(errorBox(t('error', { e: e.message }))); }
  } } },
  h('h2', { text: t('tip.handoff') }),
  field(t('tip.colleague'), who), theirs,
  field(t('tip.confirm'), confirm, t('tip.confirmhint')),
  h('button', { type: 'submit', text: t('tip.handoffgo') }), msg);
}
