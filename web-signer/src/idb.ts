/**
 * A small key-value store on IndexedDB: one database, one object store, string keys, structured
 * values. What the web signer keeps in the browser (the sealed keystore, the chain pin) goes here.
 */
export interface KeyValueStore {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
}

export const DB_NAME = 'oursql-web-signer';
const STORE = 'kv';

const done = <T>(req: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });

const committed = (tx: IDBTransaction): Promise<void> =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });

/** Opens (creating it the first time) the web signer's database in this browser. */
export async function openKeyValueStore(name: string = DB_NAME): Promise<KeyValueStore> {
  if (typeof indexedDB === 'undefined') throw new Error('this browser offers no IndexedDB (a private window may disable it): the wallet cannot be kept');
  const open = indexedDB.open(name, 1);
  open.onupgradeneeded = () => {
    if (!open.result.objectStoreNames.contains(STORE)) open.result.createObjectStore(STORE);
  };
  open.onblocked = () => undefined;
  const db = await done(open);
  const write = async (fn: (s: IDBObjectStore) => void): Promise<void> => {
    const tx = db.transaction(STORE, 'readwrite');
    fn(tx.objectStore(STORE));
    await committed(tx);
  };
  return {
    get: (key) => done(db.transaction(STORE, 'readonly').objectStore(STORE).get(key)),
    set: (key, value) => write((s) => s.put(value, key)),
    delete: (key) => write((s) => s.delete(key)),
  };
}
