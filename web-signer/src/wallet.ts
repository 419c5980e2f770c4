/**
 * The browser wallet: a keystore kept sealed in IndexedDB, locked or unlocked. Unlocked, it holds
 * the key derived from the passphrase (never the passphrase, never a private key); a private key is
 * unsealed only to sign one message, and never leaves this page.
 */
import { newPrivateKey } from '../../consensus/index.ts';
import { KeystoreError } from '../../remoteclient/errors.ts';
import { SealedKeystore, type KeyRing, type KeystoreStorage, type PublicKeyInfo } from '../../remoteclient/keystore-core.ts';
import type { KdfParams } from '../../remoteclient/sealing.ts';

export interface ImportResult {
  imported: PublicKeyInfo[];
  /** Addresses the wallet held already. */
  known: string[];
}

export interface ExportedKey extends PublicKeyInfo {
  created: number;
  privateKey: string;
}

export class Wallet {
  private ring: KeyRing | undefined;

  private constructor(
    private readonly keystore: SealedKeystore,
    /** scrypt parameters for a new keystore (undefined: the default, N = 2^16). */
    private readonly kdfForNew?: KdfParams,
  ) {}

  static async open(storage: KeystoreStorage, kdfForNew?: KdfParams): Promise<Wallet> {
    return new Wallet(await SealedKeystore.load(storage), kdfForNew);
  }

  /** False until the first key is stored. */
  get exists(): boolean {
    return this.keystore.initialized;
  }

  get unlocked(): boolean {
    return this.ring !== undefined && !this.ring.isClosed;
  }

  /** Addresses and public keys: readable while locked. */
  addresses(): PublicKeyInfo[] {
    return this.keystore.list();
  }

  find(address: string): PublicKeyInfo {
    const k = this.addresses().find((a) => a.address === address);
    if (!k) throw new KeystoreError(`address ${address} is not in this wallet`);
    return k;
  }

  /** A new wallet with one new key, sealed with `passphrase`; it stays unlocked. */
  async create(passphrase: string): Promise<PublicKeyInfo> {
    const { imported } = await this.importKeys(passphrase, [newPrivateKey()]);
    return imported[0];
  }

  /**
   * Adds private keys (hex). A new wallet takes `passphrase` as its own; an existing one must be
   * unlocked, or unlocks with it. All keys are checked before anything is stored.
   */
  async importKeys(passphrase: string | undefined, keys: string[]): Promise<ImportResult> {
    if (keys.length === 0) throw new KeystoreError('no key to import');
    if (!(await this.keystore.isCurrent())) throw new KeystoreError('the wallet was changed in another tab or window: reload this page first');
    const ring = await this.openRing(passphrase);
    const results = keys.map((k, i) => {
      try {
        return ring.add(k);
      } catch (e) {
        throw new KeystoreError(`${keys.length > 1 ? `key ${i + 1}: ` : ''}${(e as Error).message}`);
      }
    });
    await ring.save();
    this.ring = ring;
    return {
      imported: results.filter((r) => r.added).map(({ address, pubkey }) => ({ address, pubkey })),
      known: results.filter((r) => !r.added).map((r) => r.address),
    };
  }

  /** One more key in an unlocked wallet. */
  async newAddress(): Promise<PublicKeyInfo> {
    const { imported } = await this.importKeys(undefined, [newPrivateKey()]);
    return imported[0];
  }

  /**
   * Every key in clear, in the format `oursql-remote exportwallet` writes (so `importwallet` and
   * this page read it back). Asks for the passphrase again even when unlocked.
   */
  async exportKeys(passphrase: string): Promise<{ keys: ExportedKey[] }> {
    const ring = await this.keystore.unlockAsync(passphrase);
    try {
      return { keys: ring.list().map((k) => ({ ...k, privateKey: ring.privateKey(k.address) })) };
    } finally {
      ring.close();
    }
  }

  /** Derives the key from `passphrase` (about a second); a wrong passphrase is refused. */
  async unlock(passphrase: string): Promise<void> {
    if (!this.exists) throw new KeystoreError('there is no wallet in this browser yet: create or import one');
    this.ring = await this.keystore.unlockAsync(passphrase);
  }

  /** Forgets the derived key: signing needs the passphrase again. */
  lock(): void {
    this.ring?.close();
    this.ring = undefined;
  }

  /** The private key of `address`, to sign one message: only while unlocked. */
  privateKey(address: string): string {
    if (!this.ring || this.ring.isClosed) throw new KeystoreError('the wallet is locked: unlock it to sign');
    return this.ring.privateKey(address);
  }

  private async openRing(passphrase: string | undefined): Promise<KeyRing> {
    if (this.ring && !this.ring.isClosed) return this.ring;
    if (passphrase === undefined) throw new KeystoreError('the wallet is locked: unlock it first');
    if (!this.exists) return this.keystore.unlockAsync(passphrase, this.kdfForNew);
    return this.keystore.unlockAsync(passphrase);
  }
}
