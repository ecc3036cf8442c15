/**
 * A reporter's deletion request on one tip: when it falls due, and a hold.
 * The request came from the reporter's phone or receipt, which someone else
 * may hold; the hold keeps the tip until an advocate releases it. Metadata
 * only (state, times, channel, who holds it). Its own strings, so the shared
 * catalogue in i18n.js stays untouched.
 */

import { h, errorBox, announce } from './ui.js';
import { getLang } from './i18n.js';

const STRINGS = {
  en: {
    title: 'Deletion requested', pending: 'The reporter asked ({via}) on {at} for this conversation to be deleted. It will be deleted on {due} unless someone holds it or the reporter writes again.',
    held: 'Deletion requested ({via}) on {at}; held by {who} since {since}. Nothing deletes this tip until it is released.',
    repeats: 'Asked {n} more times since.', hold: 'Hold (keep this tip)', release: 'Release the hold',
    heldnow: 'Held.', released: 'Released.', error: 'Error: {e}',
  },
  es: {
    title: 'Piden borrar', pending: 'La persona pidió ({via}) el {at} borrar esta conversación. Se borrará el {due} salvo que alguien la retenga o la persona vuelva a escribir.',
    held: 'Piden borrar ({via}) desde el {at}; retenida por {who} desde el {since}. Nada borra este caso hasta que se libere.',
    repeats: 'Lo pidió {n} veces más desde entonces.', hold: 'Retener (conservar este caso)', release: 'Liberar la retención',
    heldnow: 'Retenida.', released: 'Liberada.', error: 'Error: {e}',
  },
};

const s = (key, vars = {}) => (STRINGS[getLang()] || STRINGS.en)[key]
  .replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
const when = (iso) => new Date(iso).toLocaleString();

/** The card for a pending or held request, or null (none, cancelled, or under way). */
export function deletionSection(app, tip, rerender) {
  const d = tip.deletion;
  if (!d || (d.state !== 'pending' && d.state !== 'held')) return null;
  const msg = h('div', { 'aria-live': 'polite' });
  const held = d.state === 'held';
  const act = async () => {
    try {
      await app.api.post(`/api/tips/${encodeURIComponent(tip.id)}/deletion/${held ? 'release' : 'hold'}`);
      announce(s(held ? 'released' : 'heldnow'));
      await rerender();
    } catch (e) { msg.replaceChildren(errorBox(s('error', { e: e.message }))); }
  };
  return h('section', { class: 'card deletion', 'data-deletion': d.state },
    h('h2', { text: s('title') }),
    h('p', { text: held
      ? s('held', { via: d.via, at: when(d.requested_at), who: d.held_by || '?', since: when(d.held_at) })
      : s('pending', { via: d.via, at: when(d.requested_at), due: when(d.effective_at) }) }),
    d.repeats ? h('p', { class: 'hint', text: s('repeats', { n: d.repeats }) }) : null,
    h('button', { type: 'button', class: held ? '' : 'primary', name: held ? 'release-deletion' : 'hold-deletion',
      text: s(held ? 'release' : 'hold'), on: { click: act } }),
    msg);
}
