/**
 * Tiny DOM helpers. The console never assigns HTML strings (the CSP enforces
 * Trusted Types with no policy), so decrypted text can only ever be text.
 */

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') el.textContent = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'class') el.className = v;
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** Replace a container's content and move focus to its heading, for screen readers. */
export function show(container, ...nodes) {
  container.replaceChildren(...nodes.filter(Boolean));
  const heading = container.querySelector('h1, h2');
  if (heading) { heading.tabIndex = -1; heading.focus({ preventScroll: false }); }
}

/** Replace content without moving focus (live refreshes must not yank a screen reader). */
export function refresh(container, ...nodes) {
  container.replaceChildren(...nodes.filter(Boolean));
}

export function announce(text) {
  const live = document.getElementById('live');
  live.textContent = '';
  setTimeout(() => { live.textContent = text; }, 30);
}

export function field(label, input, hint) {
  const id = input.id || `f${Math.random().toString(36).slice(2)}`;
  input.id = id;
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint`, text: hint }) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), input, hintEl);
}

export function errorBox(text) {
  return h('p', { class: 'error', role: 'alert', text });
}

/** A Blob download that never puts content in a URL anyone else sees (blob: is local). */
export function download(name, bytes, type = 'application/octet-stream') {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function ago(iso, t) {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 90) return t('ago.now');
  if (s < 5400) return t('ago.min', { n: Math.round(s / 60) });
  if (s < 129600) return t('ago.hour', { n: Math.round(s / 3600) });
  return t('ago.day', { n: Math.round(s / 86400) });
}
