/**
 * What the web signer keeps in IndexedDB: the keystore (the same JSON text oursql-remote writes to
 * keystore.json: addresses in clear, private keys sealed with scrypt + AES-256-GCM) and the chain it
 * is pinned to. Nothing here is secret in clear.
 */
import { z } from 'zod';
import type { KeystoreStorage } from '../../remoteclient/keystore-core.ts';
import type { KeyValueStore } from './idb.ts';

const KEYSTORE = 'keystore';
const PIN = 'pin';

export function browserKeystoreStorage(kv: KeyValueStore): KeystoreStorage {
  return {
    name: 'in this browser',
    read: async () => {
      const v = await kv.get(KEYSTORE);
      if (v === undefined || typeof v === 'string') return v;
      throw new Error('the keystore kept in this browser is not text: it was not written by this app');
    },
    write: (text) => kv.set(KEYSTORE, text),
  };
}

const Hash = z.string().regex(/^[0-9a-f]{64}$/);
const PinSchema = z.strictObject({ chain: Hash, consensus: Hash });
/** The chain (genesis hash) and consensus config hash this wallet signs for. */
export type ChainPin = z.infer<typeof PinSchema>;

export async function readPin(kv: KeyValueStore): Promise<ChainPin | undefined> {
  const v = await kv.get(PIN);
  if (v === undefined) return undefined;
  const r = PinSchema.safeParse(v);
  return r.success ? r.data : undefined;
}

export function writePin(kv: KeyValueStore, pin: ChainPin): Promise<void> {
  return kv.set(PIN, PinSchema.parse(pin));
}
