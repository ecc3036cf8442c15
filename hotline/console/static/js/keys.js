/** Key screens: unlock a stored or picked key file, or create a key pair here. */

import { h, show, field, errorBox, download } from './ui.js';
import { t } from './i18n.js';
import { KDF } from './hlcrypto.js';
import { loadWrapped, saveWrapped, forgetWrapped } from './keystore.js';

/** Resolve with an unlocked identity. Argon2id runs after the first paint, on submit only. */
export async function keyScreen(app, notice = null) {
  const stored = await loadWrapped();
  return new Promise((resolve) => render(app, stored, resolve, notice));
}

function render(app, stored, resolve, notice = null) {
  app.rerenderKeys = () => render(app, stored, resolve, notice);  // after a language switch
  const msg = h('div', { 'aria-live': 'assertive' }, notice ? h('p', { class: 'notice', text: notice }) : null);
  const pass = h('input', { type: 'password', autocomplete: 'current-password', required: true, name: 'passphrase' });
  const file = stored ? null : h('input', { type: 'file', name: 'keyfile', accept: '.key,application/octet-stream' });
  // A choice, unticked: on a shared computer the key file must not stay behind.
  const remember = h('input', { type: 'checkbox', name: 'remember' });
  const unlockBtn = h('button', { type: 'submit', class: 'primary', text: t('key.unlock') });
  const form = h('form', { class: 'card', on: { submit: async (ev) => {
    ev.preventDefault();
    let data = stored;
    if (!data) {
      if (!file.files.length) { msg.replaceChildren(errorBox(t('key.pick'))); return; }
      data = new Uint8Array(await file.files[0].arrayBuffer());
    }
    msg.replaceChildren(h('p', { text: t('key.unlocking') }));
    unlockBtn.disabled = true;
    await new Promise((r) => setTimeout(r, 30));  // let the message paint before Argon2id
    try {
      const me = app.C.decryptIdentity(data, pass.value);
      pass.value = '';
      if (!stored && remember.checked) await saveWrapped(data);
      app.rerenderKeys = null;
      resolve(me);
    } catch (e) {
      unlockBtn.disabled = false;
      msg.replaceChildren(errorBox(e.kind === 'WrongPassphrase' ? t('key.wrong') : t('error', { e: e.message })));
    }
  } } },
  h('h1', { text: t('key.title') }),
  h('p', { text: t('key.intro') }),
  stored ? h('p', { text: t('key.stored') }) : field(t('key.file'), file),
  field(t('key.pass'), pass),
  stored ? null : h('div', { class: 'check' }, remember, h('label', { for: (remember.id = 'remember'), text: t('key.remember') })),
  unlockBtn, msg,
  stored ? h('button', { type: 'button', class: 'link', text: t('key.forget'), on: { click: async () => {
    await forgetWrapped(); render(app, undefined, resolve);
  } } }) : null);
  show(app.main, form, stored ? null : createForm(app, resolve));
}

function createForm(app, resolve) {
  const name = h('input', { type: 'text', autocomplete: 'name', required: true, maxlength: '100' });
  const p1 = h('input', { type: 'password', autocomplete: 'new-password', required: true });
  const p2 = h('input', { type: 'password', autocomplete: 'new-password', required: true });
  const msg = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { class: 'card', on: { submit: async (ev) => {
    ev.preventDefault();
    if (p1.value !== p2.value) { msg.replaceChildren(errorBox(t('key.mismatch'))); return; }
    if (p1.value.length < 8) { msg.replaceChildren(errorBox(t('key.short'))); return; }
    let me;
    try { me = app.C.generateIdentity(name.value.trim()); } catch (e) { msg.replaceChildren(errorBox(e.message)); return; }
    msg.replaceChildren(h('p', { text: t('key.unlocking') }));
    await new Promise((r) => setTimeout(r, 30));
    const wrapped = app.C.encryptIdentity(me, p1.value, KDF.PHONE);
    p1.value = p2.value = '';
    await saveWrapped(wrapped);
    const pub = app.C.pubFile(me);
    const base = me.name.replace(/[^\p{L}\p{N}._-]+/gu, '-').slice(0, 40) || 'advocate';
    show(app.main, h('section', { class: 'card' },
      h('h1', { text: t('key.title') }),
      h('p', { text: t('key.created') }),
      h('p', { class: 'fingerprint', text: me.fingerprint }),
      h('pre', { class: 'pub', text: pub }),
      h('div', { class: 'row' },
        h('button', { type: 'button', text: t('key.save'), on: { click: () => download(`${base}.key`, wrapped) } }),
        h('button', { type: 'button', text: t('key.savepub'), on: { click: () => download(`${base}.key.pub`, pub, 'text/plain') } }),
        h('button', { type: 'button', class: 'primary', text: t('key.continue'), on: { click: () => resolve(me) } }))));
  } } },
  h('h2', { text: t('key.create.title') }),
  field(t('key.name'), name), field(t('key.newpass'), p1, t('key.short')), field(t('key.pass2'), p2),
  h('button', { type: 'submit', text: t('key.create') }), msg);
  return form;
}
