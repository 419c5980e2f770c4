/**
 * `<key-import>`: adds private keys to the wallet: pasted hex (one per line), or the file
 * `oursql-remote exportwallet` writes, read here and never sent anywhere. A new wallet (`fresh`)
 * asks for its passphrase too.
 */
import { html, LitElement } from 'lit';
import { keysInExport } from '../../../remoteclient/export-file.ts';
import { RemoteError } from '../../../remoteclient/errors.ts';
import { walletChanged } from '../context.ts';
import type { Wallet } from '../wallet.ts';
import { newPassphraseFields, newPassphraseOf } from './passphrase.ts';
import { busyNote, errorBox, guarded, okBox } from './parts.ts';
import { shared } from './styles.ts';

/** Larger than any export of a reasonable wallet; a bigger file is not one. */
const MAX_FILE_BYTES = 1024 * 1024;

export class KeyImport extends LitElement {
  static override styles = [shared];
  static override properties = {
    wallet: { attribute: false },
    fresh: { type: Boolean },
    busy: { state: true },
    error: { state: true },
    done: { state: true },
  };

  declare wallet: Wallet | undefined;
  declare fresh: boolean;
  declare busy: string | undefined;
  declare error: string | undefined;
  declare done: string | undefined;

  constructor() {
    super();
    this.fresh = false;
  }

  private async keysFrom(form: HTMLFormElement): Promise<string[]> {
    const text = (form.elements.namedItem('keys') as HTMLTextAreaElement).value.trim();
    const file = (form.elements.namedItem('file') as HTMLInputElement).files?.[0];
    if (file && text) throw new RemoteError('paste keys or choose a file, not both');
    if (file) {
      if (file.size > MAX_FILE_BYTES) throw new RemoteError(`${file.name} is too large to be a wallet export`);
      return keysInExport(file.name, await file.text());
    }
    if (!text) throw new RemoteError('paste a private key (hex) or choose the file exportwallet wrote');
    return keysInExport('the pasted text', text);
  }

  private async submit(ev: SubmitEvent): Promise<void> {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const wallet = this.wallet;
    if (!wallet) return;
    this.done = undefined;
    const r = await guarded((b) => (this.busy = b), (e) => (this.error = e), 'Importing (sealing the keys with the passphrase)…', async () => {
      const passphrase = this.fresh ? newPassphraseOf(form) : undefined;
      const keys = await this.keysFrom(form);
      return wallet.importKeys(passphrase, keys);
    });
    if (!r) return;
    form.reset();
    const parts = [
      ...r.imported.map((k) => `imported ${k.address}`),
      ...r.known.map((a) => `already held ${a}`),
    ];
    this.done = parts.join('; ');
    walletChanged(this);
  }

  override render() {
    const busy = !!this.busy;
    return html`
      <form @submit=${this.submit} aria-label="Import keys" data-test="import-form">
        <label>Private keys <span class="hint">hex, one per line (or the JSON exportwallet prints)</span>
          <textarea name="keys" rows="3" spellcheck="false" autocomplete="off" ?disabled=${busy} data-test="import-keys"></textarea>
        </label>
        <label>Or a file <span class="hint">written by <code>oursql-remote exportwallet FILE</code>; read in this browser only</span>
          <input name="file" type="file" accept=".json,.txt,application/json,text/plain" ?disabled=${busy} data-test="import-file">
        </label>
        ${this.fresh ? newPassphraseFields(busy) : ''}
        <div class="row">
          <button class="primary" type="submit" ?disabled=${busy} data-test="import">Import</button>
        </div>
        ${busyNote(this.busy)} ${errorBox(this.error)} ${okBox(this.done)}
      </form>
    `;
  }
}
customElements.define('key-import', KeyImport);
