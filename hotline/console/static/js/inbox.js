/** The inbox: urgency then age (the server's order), channel, status, who is on it, unread. */

import { h, show, refresh, ago } from './ui.js';
import { t } from './i18n.js';

export function inboxView(app, tips, updatedAt, focus = true) {
  const list = tips.length
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
  (focus ? show : refresh)(app.main, h('section', {},
    h('h1', { text: t('inbox') }),
    h('p', { class: 'hint', text: t('inbox.updated', { t: new Date(updatedAt).toLocaleTimeString() }) }),
    list));
}
