/**
 * `<key-export>`: the wallet's private keys in clear, in the format `oursql-remote exportwallet`
 * writes, shown here to copy into a backup (never sent anywhere). Asks for the passphrase again;
 * Hide forgets them.
 */
import { html, LitElement } from 'lit';
import type { Wallet } from '../wallet.ts';
import { busyNote, errorBox, guarded } from './parts.ts';
import { shared } from './styles.ts';

export class KeyExport extends LitElement {
  static override styles = [shared];
  static override properties = {
    wallet: { attribute: false },
    text: { state: true },
    busy: { state: true },
    error: { state: true },
  };

  declare wallet: Wallet | undefined;
  declare text: string | undefined;
  declare busy: string | undefined;
  declare error: string | undefined;

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.text = undefined;
  }

  private async submit(ev: SubmitEvent): Promise<void> {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const wallet = this.wallet;
    if (!wallet) return;
    const passphrase = (form.elements.namedItem('passphrase') as HTMLInputElement).value;
    const out = await guarded((b) => (this.busy = b), (e) => (this.error = e), 'Opening the keys…', () => wallet.exportKeys(passphrase));
    form.reset();
    if (out) this.text = JSON.stringify(out, null, 2) + '\n';
  }

  override render() {
    if (this.text) {
      return html`
        <p class="error" role="alert">These are your private keys in clear: whoever reads them owns the coins and can sign as you.
          Keep the copy offline; <code>oursql-remote importwallet FILE</code> and this page read it back.</p>
        <label>Export <textarea readonly rows="8" spellcheck="false" .value=${this.text} data-test="export-text"></textarea></label>
        <div class="row"><button type="button" @click=${() => (this.text = undefined)} data-test="export-hide">Hide</button></div>
      `;
    }
    return html`
      <form @submit=${this.submit} aria-label="Export keys" data-test="export-form">
        <p class="muted">Clearing this site's data in the browser deletes the wallet: keep a backup of the keys.</p>
        <label>Passphrase again
          <input name="passphrase" type="password" autocomplete="current-password" required ?disabled=${!!this.busy} data-test="export-passphrase">
        </label>
        <div class="row"><button type="submit" ?disabled=${!!this.busy} data-test="export">Show the keys</button></div>
        ${busyNote(this.busy)} ${errorBox(this.error)}
      </form>
    `;
  }
}
customElements.define('key-export', KeyExport);
