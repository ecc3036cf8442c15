/**
 * The key at rest: only the Argon2id-wrapped key file (exactly what `hotline
 * keygen` writes), in IndexedDB, so the advocate need not pick the file each
 * time. Never the unlocked key, never anything decrypted (CRYPTO.md §14).
 */

const DB = 'hotline-console';
const STORE = 'keyfile';

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx(mode, fn) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const t = db.transaction(STORE, mode);
      const req = fn(t.objectStore(STORE));
      t.oncomplete = () => resolve(req.result);
      t.onerror = () => reject(t.error);
    });
  } finally { db.close(); }
}

export const loadWrapped = () => tx('readonly', (s) => s.get('default')).catch(() => undefined);
export const saveWrapped = (bytes) => tx('readwrite', (s) => s.put(bytes, 'default'));
export const forgetWrapped = () => tx('readwrite', (s) => s.delete('default'));
