/**
 * The JSON API, as the CLI uses it. The bearer token lives only in this
 * closure (never in storage or a cookie); every request is `no-store`.
 */

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export function createApi() {
  let token = null;
  async function call(method, path, body, raw = false) {
    const headers = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = `Bearer ${token}`;
    const r = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer',
    });
    if (!r.ok) {
      let message = r.statusText;
      try { message = (await r.json()).error || message; } catch { /* not JSON */ }
      throw new ApiError(r.status, message);
    }
    return raw ? new Uint8Array(await r.arrayBuffer()) : r.json();
  }
  return {
    setToken(t) { token = t; },
    /** Revoke the token on the server (lock, tab closed), not only forget it here. */
    revoke() {
      const t = token;
      token = null;
      if (!t) return Promise.resolve();
      return fetch('/api/auth/logout', {
        method: 'POST', body: '{}', keepalive: true, cache: 'no-store', credentials: 'omit',
        referrerPolicy: 'no-referrer',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${t}` },
      }).catch(() => { /* offline: the token still dies at its expiry */ });
    },
    get hasToken() { return token !== null; },
    get: (path) => call('GET', path),
    post: (path, body = {}) => call('POST', path, body),
    bytes: (path) => call('GET', path, undefined, true),
  };
}
