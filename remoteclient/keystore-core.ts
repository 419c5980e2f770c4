/**
 * The encrypted keystore, wherever it is kept (a file for oursql-remote, IndexedDB for the web
 * signer): addresses and public keys in clear (so balances need no passphrase), private keys sealed
 * with the passphrase (sealing.ts). A `check` value sealed with the same key tells a wrong
 * passphrase from a damaged entry. Pure: storage is given as a `KeystoreStorage`.
 */
import { z } from 'zod';
import { addressOf, bytesToHex, hexToBytes, parsePrivateKey, publicKeyOf } from '../consensus/index.ts';
import { KeystoreError } from './errors.ts';
import { deriveKey, deriveKeyAsync, newKdf, seal, unseal, type KdfParams } from './sealing.ts';

const Hex = z.string().regex(/^(?:[0-9a-f]{2})+$/);
const SealedSchema = z.strictObject({ nonce: Hex, data: Hex });
const EntrySchema = z.strictObject({ address: z.string(), pubkey: z.string(), created: z.number().int(), key: SealedSchema });
const KeystoreSchema = z.strictObject({
  version: z.literal(1),
  kdf: z.strictObject({
    name: z.literal('scrypt'),
    N: z.number().int().min(2 ** 10).max(2 ** 22).refine((n) => (n & (n - 1)) === 0, 'must be a power of 2'),
    r: z.number().int().min(1).max(32),
    p: z.number().int().min(1).max(16),
    salt: Hex,
  }),
  check: SealedSchema,
  keys: z.array(EntrySchema),
});
export type KeystoreFile = z.infer<typeof KeystoreSchema>;
export type KeyEntry = z.infer<typeof EntrySchema>;

const CHECK_TEXT = 'oursql-remote keystore v1';
const CHECK_AAD = 'check';

export interface PublicKeyInfo { address: string; pubkey: string }

/** Where a keystore's JSON text is kept. */
export interface KeystoreStorage {
  /** Names the keystore in messages: a file name, or "in this browser". */
  readonly name: string;
  /** The stored text, or undefined when nothing is stored yet. */
  read(): Promise<string | undefined>;
  write(text: string): Promise<void>;
}

/** The keystore text parsed and checked; `name` says which keystore in errors. */
export function parseKeystore(name: string, text: string): KeystoreFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new KeystoreError(`${name} is not a keystore (not JSON)`);
  }
  const r = KeystoreSchema.safeParse(json);
  if (!r.success) throw new KeystoreError(`${name} is not a valid keystore: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

export class SealedKeystore {
  protected constructor(
    readonly storage: KeystoreStorage,
    private data: KeystoreFile | undefined,
  ) {}

  /** Reads the keystore; nothing stored is an empty keystore (made at the first key). */
  static async load(storage: KeystoreStorage): Promise<SealedKeystore> {
    return new SealedKeystore(storage, await SealedKeystore.read(storage));
  }

  protected static async read(storage: KeystoreStorage): Promise<KeystoreFile | undefined> {
    const text = await storage.read();
    return text === undefined ? undefined : parseKeystore(storage.name, text);
  }

  get file(): string {
    return this.storage.name;
  }

  /** False until the first key is stored: then the passphrase given is the keystore's. */
  get initialized(): boolean {
    return this.data !== undefined;
  }

  list(): PublicKeyInfo[] {
    return (this.data?.keys ?? []).map(({ address, pubkey }) => ({ address, pubkey }));
  }

  has(address: string): boolean {
    return this.list().some((k) => k.address === address);
  }

  /** Derives the key from `passphrase` (slow on purpose); a wrong passphrase is refused here. */
  unlock(passphrase: string, kdfForNew?: KdfParams): KeyRing {
    const kdf = this.kdfFor(passphrase, kdfForNew);
    return this.open(deriveKey(passphrase, kdf), kdf);
  }

  /** As unlock, without blocking the event loop while the key is derived. */
  async unlockAsync(passphrase: string, kdfForNew?: KdfParams): Promise<KeyRing> {
    const kdf = this.kdfFor(passphrase, kdfForNew);
    return this.open(await deriveKeyAsync(passphrase, kdf), kdf);
  }

  private kdfFor(passphrase: string, kdfForNew?: KdfParams): KdfParams {
    if (!passphrase) throw new KeystoreError('the passphrase is empty');
    return this.data?.kdf ?? kdfForNew ?? newKdf();
  }

  private open(key: Uint8Array, kdf: KdfParams): KeyRing {
    if (!this.data) {
      return new KeyRing(this, key, { version: 1, kdf, check: seal(key, new TextEncoder().encode(CHECK_TEXT), CHECK_AAD), keys: [] });
    }
    const check = unseal(key, this.data.check, CHECK_AAD);
    if (!check || new TextDecoder().decode(check) !== CHECK_TEXT) throw new KeystoreError(`wrong passphrase for the keystore ${this.file}`);
    return new KeyRing(this, key, this.data);
  }

  /** False when the stored keystore is no longer the one read or written here (another writer). */
  async isCurrent(): Promise<boolean> {
    const stored = await SealedKeystore.read(this.storage);
    return JSON.stringify(stored) === JSON.stringify(this.data);
  }

  /** @internal KeyRing stores its changes through here. */
  async replace(data: KeystoreFile): Promise<void> {
    await this.storage.write(JSON.stringify(data, null, 2) + '\n');
    this.data = data;
  }
}

/** An unlocked keystore: reads private keys, adds keys, saves; `close` forgets the key. */
export class KeyRing {
  private closed = false;

  constructor(
    private readonly store: SealedKeystore,
    private readonly key: Uint8Array,
    private data: KeystoreFile,
  ) {}

  privateKey(address: string): string {
    this.checkOpen();
    const entry = this.data.keys.find((k) => k.address === address);
    if (!entry) throw new KeystoreError(`address ${address} is not in the keystore ${this.store.file} (listaddresses shows its addresses)`);
    const raw = unseal(this.key, entry.key, entry.address);
    const privateKey = raw && bytesToHex(raw);
    if (!privateKey || publicKeyOf(privateKey) !== entry.pubkey) throw new KeystoreError(`the keystore entry of ${address} is damaged`);
    return privateKey;
  }

  /** Adds a private key (hex); `added` false when the keystore already holds it. */
  add(privateKeyHex: string): PublicKeyInfo & { added: boolean } {
    this.checkOpen();
    const privateKey = privateKeyHex.trim().toLowerCase();
    parsePrivateKey(privateKey);
    const pubkey = publicKeyOf(privateKey);
    const address = addressOf(pubkey);
    if (this.data.keys.some((k) => k.address === address)) return { address, pubkey, added: false };
    const entry: KeyEntry = { address, pubkey, created: Date.now(), key: seal(this.key, hexToBytes(privateKey), address) };
    this.data = { ...this.data, keys: [...this.data.keys, entry] };
    return { address, pubkey, added: true };
  }

  list(): (PublicKeyInfo & { created: number })[] {
    return this.data.keys.map(({ address, pubkey, created }) => ({ address, pubkey, created }));
  }

  save(): Promise<void> {
    this.checkOpen();
    return this.store.replace(this.data);
  }

  /** Wipes the derived key: the ring can no longer read or add keys. */
  close(): void {
    this.key.fill(0);
    this.closed = true;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private checkOpen(): void {
    if (this.closed) throw new KeystoreError(`the keystore ${this.store.file} is locked`);
  }
}
