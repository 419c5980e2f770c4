/** `<wallet-setup>`: the first screen while this browser holds no wallet: create one, or import keys. */
import { html, LitElement } from 'lit';
import { walletChanged } from '../context.ts';
import type { Wallet } from '../wallet.ts';
import './key-import.ts';
import { newPassphraseFields, newPassphraseOf } from './passphrase.ts';
import { busyNote, errorBox, guarded } from './parts.ts';
import { shared } from './styles.ts';

export class WalletSetup extends LitElement {
  static override styles = [shared];
  static override properties = {
    wallet: { attribute: false },
    busy: { state: true },
    error: { state: true },
  };

  declare wallet: Wallet | undefined;
  declare busy: string | undefined;
  declare error: string | undefined;

  private async create(ev: SubmitEvent): Promise<void> {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const wallet = this.wallet;
    if (!wallet) return;
    const made = await guarded((b) => (this.busy = b), (e) => (this.error = e), 'Creating the key and sealing it with the passphrase…', () =>
      wallet.create(newPassphraseOf(form)),
    );
    if (made) walletChanged(this);
  }

  override render() {
    const busy = !!this.busy;
    return html`
      <h2 tabindex="-1">Set up this browser's wallet</h2>
      <p class="muted">Keys stay in this browser, sealed with your passphrase (scrypt and AES-256-GCM). The node prepares
        transactions; this page checks them, shows you exactly what you sign, and sends only signatures.</p>
      <section class="card" aria-labelledby="create-h">
        <h3 id="create-h">Create a new wallet</h3>
        <form @submit=${this.create} aria-label="Create a wallet" data-test="create-form">
          ${newPassphraseFields(busy)}
          <div class="row"><button class="primary" type="submit" ?disabled=${busy} data-test="create">Create wallet</button></div>
          ${busyNote(this.busy)} ${errorBox(this.error)}
        </form>
      </section>
      <section class="card" aria-labelledby="import-h">
        <h3 id="import-h">Or import keys you have</h3>
        <key-import .wallet=${this.wallet} fresh></key-import>
      </section>
    `;
  }
}
customElements.define('wallet-setup', WalletSetup);
