import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { addressOf, newPrivateKey } from '../../consensus/index.ts';
import { nativePublicKey } from './native-signer.ts';

const KeySchema = z.object({ address: z.string(), pubkey: z.string(), privateKey: z.string(), created: z.number() });
const WalletSchema = z.object({ version: z.literal(1), keys: z.array(KeySchema) });
export type WalletKey = z.infer<typeof KeySchema>;

export class WalletError extends Error {
  override name = 'WalletError';
}

/**
 * Node-held keys in `<datadir>/wallet.json` (mode 0600, like bitcoind's wallet file). Keys held by
 * people live in oursql-remote or the web signer instead.
 */
export class Wallet {
  private constructor(readonly file: string, private keys: WalletKey[]) {}

  static async open(file: string): Promise<Wallet> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Wallet(file, []);
      throw e;
    }
    const parsed = WalletSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new WalletError(`${file} is not a valid wallet file: ${parsed.error.issues[0]?.message}`);
    return new Wallet(file, parsed.data.keys);
  }

  list(): { address: string; pubkey: string }[] {
    return this.keys.map(({ address, pubkey }) => ({ address, pubkey }));
  }

  has(address: string): boolean {
    return this.keys.some((k) => k.address === address);
  }

  key(address: string): WalletKey {
    const k = this.keys.find((x) => x.address === address);
    if (!k) throw new WalletError(`address ${address} is not in this node's wallet`);
    return k;
  }

  async create(): Promise<{ address: string; pubkey: string }> {
    const privateKey = newPrivateKey();
    const pubkey = nativePublicKey(privateKey);
    const key = { address: addressOf(pubkey), pubkey, privateKey, created: Date.now() };
    this.keys = [...this.keys, key];
    await this.save();
    return { address: key.address, pubkey };
  }

  private async save(): Promise<void> {
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, JSON.stringify({ version: 1, keys: this.keys }, null, 2), { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, this.file);
  }
}
