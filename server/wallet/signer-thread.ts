/**
 * A worker thread that signs for node-held keys, so the ECDSA work of node-signed updates runs
 * beside the event loop instead of on it. Signatures are the same as consensus/'s signTx makes.
 */
import { Worker } from 'node:worker_threads';
import { fail, hexToBytes, txSigner, type TransferBody, type Tx } from '../../consensus/index.ts';

interface Waiting { resolve: (sig: string) => void; reject: (e: Error) => void }

export class SignerThread {
  private readonly worker = new Worker(new URL('./sign-worker.js', import.meta.url));
  private readonly waiting = new Map<number, Waiting>();
  private next = 0;
  private failed: Error | null = null;

  constructor() {
    this.worker.on('message', (m: { id?: number; sig?: string; error?: string }) => {
      if (m.id === undefined) return;
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) this.worker.unref();
      if (m.sig !== undefined) w?.resolve(m.sig);
      else w?.reject(new Error(`signing failed: ${m.error}`));
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', () => this.fail(new Error('the signing thread stopped')));
    // it keeps the process alive only while a signature is on its way
    this.worker.unref();
  }

  /** DER signature (hex) by the key of a message whose SHA-256 is `digest` (32 bytes). */
  signDigest(digest: Uint8Array, privateKeyHex: string): Promise<string> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, digest, privateKey: privateKeyHex });
    });
  }

  /** A signer for one key: `sign` on the calling thread, `signLater` on this one. */
  signerFor(privateKeyHex: string): { pubkey: string; sign(body: TransferBody): Tx; signLater(tx: Tx): Promise<string> } {
    const signer = txSigner(privateKeyHex);
    return {
      pubkey: signer.pubkey,
      sign: (body) => signer.sign(body),
      signLater: async (tx) => {
        if (!('from' in tx.body) || tx.body.from !== signer.pubkey) fail('bad-key', "private key does not match the body's from");
        // A txid is the SHA-256 of the signed message (consensus txidOf): sign it, do not hash again.
        return this.signDigest(hexToBytes(tx.id), privateKeyHex);
      },
    };
  }

  async close(): Promise<void> {
    this.fail(new Error('the signing thread is closed'));
    await this.worker.terminate();
  }

  private fail(e: Error): void {
    this.failed ??= e;
    for (const w of this.waiting.values()) w.reject(this.failed);
    this.waiting.clear();
    this.worker.unref();
  }
}
