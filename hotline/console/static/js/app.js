/**
 * The console's entry point: load libsodium, unlock a key, sign in, then the
 * inbox. Everything secret or decrypted lives in this page's memory only;
 * locking (button, idle timeout) or closing the tab forgets it.
 */

import sodium from '/console/vendor/libsodium-wrappers.mjs';
import { createCrypto } from './hlcrypto.js';
import { createApi, ApiError } from './api.js';
import { h, announce, errorBox, show } from './ui.js';
import { t, setLang, getLang } from './i18n.js';
import { keyScreen } from './keys.js';
import { inboxView, inboxQuery, newInboxState } from './inbox.js';
import { tipView } from './tip.js';
import { adminView } from './admin.js';
import { forgetOpened } from './tipops.js';

const IDLE_MINUTES = 5;
const POLL_MS = 10_000;

const app = {
  C: null, api: createApi(), me: null, who: null, opened: [], objectUrls: [], view: 'keys',
  main: document.getElementById('main'), bar: document.getElementById('bar'), tips: [], timer: null, idle: null,
  inbox: newInboxState(),
};

function forget() {
  forgetOpened(app.opened);
  app.opened = [];
  for (const url of app.objectUrls) URL.revokeObjectURL(url);
  app.objectUrls = [];
  if (app.me) app.me.forget();
  app.me = null; app.who = null; app.tips = []; app.inbox = newInboxState();
  app.api.setToken(null);
  clearInterval(app.timer); clearTimeout(app.idle);
}

app.lock = async (reason = t('locked')) => {
  app.api.revoke();
  forget();
  app.main.replaceChildren();
  renderBar();
  announce(reason);
  await start(reason);
};

function touch() {
  if (!app.me) return;
  clearTimeout(app.idle);
  app.idle = setTimeout(() => app.lock(t('idle', { m: IDLE_MINUTES })), IDLE_MINUTES * 60_000);
}
for (const ev of ['pointerdown', 'keydown', 'scroll', 'touchstart']) addEventListener(ev, touch, { passive: true });
addEventListener('pagehide', () => { app.api.revoke(); forget(); });

function renderBar() {
  const items = [h('strong', { class: 'brand', text: t('app.title') })];
  if (app.me) {
    items.push(h('span', { class: 'who', text: t('you', { n: app.who.name, r: app.who.role }) }),
      h('button', { type: 'button', text: t('inbox'), on: { click: () => app.showInbox() } }));
    if (app.who.role === 'admin') items.push(h('button', { type: 'button', text: t('admin'), on: { click: () => guard(() => adminView(app)) } }));
  }
  items.push(h('button', { type: 'button', lang: getLang() === 'en' ? 'es' : 'en', text: t('lang.other'), on: { click: () => {
    setLang(getLang() === 'en' ? 'es' : 'en'); renderBar();
    if (app.me) app.showInbox(); else if (app.rerenderKeys) app.rerenderKeys();
  } } }));
  if (app.me) items.push(h('button', { type: 'button', class: 'lock', name: 'lock', text: t('lock'), on: { click: () => app.lock() } }));
  app.bar.replaceChildren(...items);
  document.title = t('app.title');
}

/** Same challenge–response as the CLI: sign the origin as this page knows it. */
async function login() {
  const fp = app.me.fingerprint;
  const c = await app.api.post('/api/auth/challenge', { fingerprint: fp });
  const sig = app.C.signLogin(app.me, location.origin, c.instance_id, fp, app.C.fromBase64(c.nonce), c.expires_at);
  // Say which origin was signed: a server that answers elsewhere says so (and how to fix it).
  const tok = await app.api.post('/api/auth/token', { fingerprint: fp, nonce: c.nonce, expires_at: c.expires_at, signature: app.C.toBase64(sig), origin: location.origin });
  app.api.setToken(tok.token);
  app.who = tok;
}

/** Run a view; an expired token signs in again once with the key in memory. */
async function guard(fn) {
  try { return await fn(); } catch (e) {
    if (e instanceof ApiError && e.status === 401 && app.me) {
      try { await login(); return await fn(); } catch (e2) { e = e2; }
    }
    if (app.me) app.main.prepend(errorBox(t('error', { e: e.message })));
    return undefined;
  }
}

/** One page of the inbox (filters and cursor in app.inbox); `fresh` is only told on a re-poll of the same page. */
async function poll(focus, samePage = true) {
  const before = new Set(app.tips.map((x) => x.id));
  const { tips, next } = await app.api.get(`/api/tips?${inboxQuery(app.inbox)}`);
  const fresh = samePage && tips.some((x) => !before.has(x.id)) && before.size > 0;
  app.tips = tips;
  app.inbox.next = next;
  if (app.view === 'inbox') inboxView(app, tips, Date.now(), focus);
  if (fresh) announce(t('inbox.new'));
}

app.showInbox = () => { app.view = 'inbox'; forgetOpened(app.opened); app.opened = []; return guard(() => poll(true, false)); };
app.filterInbox = (name, value) => {
  app.inbox.filters[name] = value;
  app.inbox.cursors = [null];
  return guard(() => poll(false, false));
};
app.inboxPage = (step) => {
  if (step > 0 && app.inbox.next) app.inbox.cursors.push(app.inbox.next);
  else if (step < 0 && app.inbox.cursors.length > 1) app.inbox.cursors.pop();
  else return undefined;
  return guard(() => poll(false, false));
};
app.openTip = (id) => { app.view = 'tip'; return guard(() => tipView(app, id)); };

async function start(notice = null) {
  app.view = 'keys';
  app.me = await keyScreen(app, notice);
  try { await login(); } catch (e) {
    forget();
    start(t('login.failed', { e: e.message }));
    return;
  }
  renderBar();
  touch();
  await app.showInbox();
  app.timer = setInterval(() => { if (app.view === 'inbox') guard(() => poll(false)); }, POLL_MS);
}

async function boot() {
  setLang(getLang());
  renderBar();
  try {
    await sodium.ready;
    app.C = createCrypto(sodium);
  } catch (e) {
    show(app.main, errorBox(t('missing', { e: e.message })));
    return;
  }
  document.documentElement.dataset.ready = 'true';
  performance.mark('console-ready');  // bench/console_load.py reads it: time to interactive
  await start();
}

boot();
