/** `<unlock-form>`: the passphrase that unlocks the wallet; a wrong one is said in place. */
import { html, LitElement } from 'lit';
import { walletChanged } from '../context.ts';
import type { Wallet } from '../wallet.ts';
import { busyNote, errorBox, guarded } from './parts.ts';
import { shared } from './styles.ts';

export class UnlockForm extends LitElement {
  static override styles = [shared];
  static override properties = {
    wallet: { attribute: false },
    busy: { state: true },
    error: { state: true },
  };

  declare wallet: Wallet | undefined;
  declare busy: string | undefined;
  declare error: string | undefined;

  private async submit(ev: SubmitEvent): Promise<void> {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const input = form.elements.namedItem('passphrase') as HTMLInputElement;
    const wallet = this.wallet;
    if (!wallet) return;
    const ok = await guarded((b) => (this.busy = b), (e) => (this.error = e), 'Unlocking (deriving the key from the passphrase)…', async () => {
      await wallet.unlock(input.value);
      return true;
    });
    if (ok) {
      form.reset();
      walletChanged(this);
    } else {
      await this.updateComplete;
      input.select();
    }
  }

  override render() {
    return html`
      <form class="card" @submit=${this.submit} aria-label="Unlock the wallet">
        <label>Passphrase
          <input name="passphrase" type="password" autocomplete="current-password" required ?disabled=${!!this.busy} data-test="unlock-passphrase">
        </label>
        <div class="row">
          <button class="primary" type="submit" ?disabled=${!!this.busy} data-test="unlock">Unlock</button>
        </div>
        ${busyNote(this.busy)} ${errorBox(this.error)}
      </form>
    `;
  }
}
customElements.define('unlock-form', UnlockForm);
