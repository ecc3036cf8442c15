/**
 * The inbox: urgency then age (the server's order), channel, status, who is on it, unread.
 * One page at a time (the server's cursor), filtered by status, urgency and channel;
 * the filters are drawn once per visit so a refresh never takes a control from under a hand.
 */

import { h, show, refresh, ago, field } from './ui.js';
import { t } from './i18n.js';

export const FILTERS = {
  status: ['new', 'acknowledged', 'in_progress', 'closed'],
  urgency: ['critical', 'high', 'normal', 'low'],
  channel: ['web', 'sms', 'voice', 'whatsapp'],
};
const LABEL_KEY = { status: 's', urgency: 'u', channel: 'c' };

/** A fresh walk: no filter, first page. `cursors` holds each page's `after` (null: the first). */
export const newInboxState = () => ({ filters: { status: '', urgency: '', channel: '' }, cursors: [null], next: null });

/** The query string for the page `state` points at. */
export function inboxQuery(state) {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(state.filters)) if (value) q.set(name, value);
  const after = state.cursors[state.cursors.length - 1];
  if (after) q.set('after', after);
  return q.toString();
}

function tipList(app, tips) {
  return tips.length
    ? h('ul', { class: 'tips', 'aria-label': t('inbox') }, tips.map((tip) => h('li', {},
      h('button', { type: 'button', class: `tip u-${tip.urgency}${tip.unread ? ' unread' : ''}`, 'data-tip': tip.id,
        on: { click: () => app.openTip(tip.id) } },
      h('span', { class: `badge u-${tip.urgency}`, text: t(`u.${tip.urgency}`) }),
      h('span', { class: 'ref', text: tip.ref }),
      tip.unread ? h('span', { class: 'dot', text: t('unread') }) : null,
      h('span', { class: 'meta' },
        h('span', { text: `${t('col.channel')}: ${t(`c.${tip.channel}`)}` }),
        h('span', { text: `${t('col.status')}: ${t(`s.${tip.status}`)}` }),
        h('span', { text: `${t('col.on')}: ${tip.acked_by || t('nobody')}` }),
        h('span', { text: `${t('col.age')}: ${ago(tip.created_at, t)}` }))))))
    : h('p', { text: t('inbox.empty') });
}

function filterForm(app, state) {
  const selects = Object.entries(FILTERS).map(([name, values]) => {
    const sel = h('select', { name, on: { change: () => app.filterInbox(name, sel.value) } },
      h('option', { value: '', text: t('inbox.any') }),
      values.map((v) => h('option', { value: v, selected: state.filters[name] === v, text: t(`${LABEL_KEY[name]}.${v}`) })));
    return field(t(`col.${name}`), sel);
  });
  return h('form', { class: 'filters', role: 'search', 'aria-label': t('inbox.filters'), on: { submit: (e) => e.preventDefault() } }, selects);
}

function pager(app, state) {
  const page = state.cursors.length;
  return h('nav', { class: 'pager', 'aria-label': t('inbox.pages') },
    h('button', { type: 'button', name: 'previous', text: t('inbox.prev'), disabled: page === 1, on: { click: () => app.inboxPage(-1) } }),
    h('span', { text: t('inbox.page', { n: page }) }),
    h('button', { type: 'button', name: 'next', text: t('inbox.next'), disabled: !state.next, on: { click: () => app.inboxPage(1) } }));
}

/** Draw the inbox; `focus`: a new visit (filters drawn, focus to the heading), else only the list. */
export function inboxView(app, tips, updatedAt, focus = true) {
  const state = app.inbox;
  const body = h('div', { class: 'inbox-page' },
    h('p', { class: 'hint', text: t('inbox.updated', { t: new Date(updatedAt).toLocaleTimeString() }) }),
    tipList(app, tips), pager(app, state));
  const current = app.main.querySelector('.inbox-page');
  if (!focus && current) { current.replaceWith(body); return; }
  (focus ? show : refresh)(app.main, h('section', {}, h('h1', { text: t('inbox') }), filterForm(app, state), body));
}
