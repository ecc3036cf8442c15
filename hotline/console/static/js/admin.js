/** Administrators: people and keys, on-call, rules and their feedback. Never content. */

import { h, show } from './ui.js';
import { t } from './i18n.js';
import { ApiError } from './api.js';

const optional = (p) => p.catch((e) => { if (e instanceof ApiError && e.status === 404) return null; throw e; });

function table(caption, columns, rows) {
  return h('div', { class: 'scroll' }, h('table', {},
    h('caption', { text: caption }),
    h('thead', {}, h('tr', {}, columns.map(([label]) => h('th', { scope: 'col', text: label })))),
    h('tbody', {}, rows.map((r) => h('tr', {}, columns.map(([, get]) => h('td', { text: String(get(r) ?? '') })))))));
}

export async function adminView(app) {
  const [people, oncall, rules] = await Promise.all([
    app.api.get('/api/admin/advocates'), optional(app.api.get('/api/admin/oncall')), app.api.get('/api/admin/rules')]);
  const report = rules.report;
  show(app.main, h('section', {},
    h('h1', { text: t('admin.title') }),
    h('p', { class: 'hint', text: t('admin.nocontent') }),
    h('h2', { text: t('admin.advocates') }),
    table(t('admin.advocates'), [[t('col.name'), (r) => r.name], [t('col.fp'), (r) => r.fingerprint],
      [t('col.role'), (r) => r.role], [t('col.active'), (r) => t(r.active ? 'yes' : 'no')]], people.advocates),
    oncall ? h('section', {}, h('h2', { text: t('admin.oncall') }), h('pre', { class: 'pub', text: JSON.stringify(oncall, null, 2) })) : null,
    h('h2', { text: t('admin.rules') }),
    h('p', { text: t('admin.version', { v: rules.version }) }),
    h('p', { text: t('admin.feedback', { n: report.records }) }),
    table(t('admin.rules'), Object.keys(report.rules[0] || { rule: '' }).map((k) => [k, (r) => (typeof r[k] === 'number' && !Number.isInteger(r[k]) ? r[k].toFixed(2) : r[k])]), report.rules)));
}
