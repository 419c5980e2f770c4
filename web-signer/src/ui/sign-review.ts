/**
 * `<sign-review>`: what is about to be signed, checked and shown in full before the person says yes:
 * the check's verdict, recipient and amount or the SQL with its table, undo and cost, every output,
 * and the exact message (Text) byte for byte. Fires `confirm` (detail: the passphrase when the
 * wallet is locked) or `cancel`; signing itself is the parent's.
 */
import { html, LitElement, nothing } from 'lit';
import { coinsLabel } from '../format.ts';
import type { Review } from '../review.ts';
import { busyNote, errorBox } from './parts.ts';
import { shared } from './styles.ts';

export interface ConfirmDetail { passphrase?: string }

const ROLE_TEXT = { payment: 'payment', change: 'change back to you', 'sql-cost': 'SQL cost' } as const;

export class SignReview extends LitElement {
  static override styles = [shared];
  static override properties = {
    review: { attribute: false },
    locked: { type: Boolean },
    busy: { type: String },
    error: { type: String },
  };

  declare review: Review | undefined;
  declare locked: boolean;
  declare busy: string | undefined;
  declare error: string | undefined;

  constructor() {
    super();
    this.locked = false;
  }

  override firstUpdated(): void {
    this.renderRoot.querySelector<HTMLElement>('h3')?.focus();
  }

  private confirm(ev: SubmitEvent): void {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const passphrase = this.locked ? (form.elements.namedItem('passphrase') as HTMLInputElement).value : undefined;
    this.dispatchEvent(new CustomEvent<ConfirmDetail>('confirm', { detail: { passphrase } }));
  }

  private cancel(): void {
    this.dispatchEvent(new CustomEvent('cancel'));
  }

  private renderWhat(r: Review) {
    if (r.kind === 'send' && r.payment) {
      return html`<dl class="facts">
        <dt>Pay</dt><dd data-test="review-amount"><strong>${coinsLabel(r.payment.coins)}</strong></dd>
        <dt>To</dt><dd class="mono" data-test="review-recipient">${r.payment.to}</dd>
        <dt>From</dt><dd class="mono">${r.signer.address}</dd>
      </dl>`;
    }
    const s = r.sql!;
    return html`
      <dl class="facts">
        <dt>Table</dt><dd class="mono">${s.table}</dd>
        <dt>SQL cost</dt><dd data-test="review-cost">${s.cost === '0' ? 'none (0 coins)' : html`<strong>${coinsLabel(s.cost)}</strong>, ${s.costTo ? html`paid to <span class="mono">${s.costTo}</span>` : 'burned'}`}</dd>
        <dt>Signed by</dt><dd class="mono">${r.signer.address}</dd>
      </dl>
      <p>The statement${s.stmts.length > 1 ? 's' : ''} every node will run:</p>
      <pre data-test="review-sql">${s.stmts.join(';\n')}</pre>
      <details>
        <summary>How a block that drops it undoes it (${s.undo.length} statement${s.undo.length === 1 ? '' : 's'}), and the rows it claims</summary>
        <pre>${s.undo.join(';\n') || '(nothing)'}</pre>
        <p class="mono">${s.refs.join(', ')}</p>
      </details>
    `;
  }

  override render() {
    const r = this.review;
    if (!r) return nothing;
    const busy = !!this.busy;
    return html`
      <section class="card" aria-labelledby="review-h" data-test="review">
        <h3 id="review-h" tabindex="-1">Check before you sign</h3>
        <p class="ok">${r.checked}</p>
        ${this.renderWhat(r)}
        <table class="stack">
          <caption class="sr">Outputs of the transaction</caption>
          <thead><tr><th scope="col">Output to</th><th class="num" scope="col">Coins</th><th scope="col">What</th></tr></thead>
          <tbody>
            ${r.outputs.length === 0 ? html`<tr><td colspan="3" class="muted">No coins move.</td></tr>` : r.outputs.map((o) => html`<tr>
              <td data-label="To" class="mono">${o.to ?? 'burned'}</td>
              <td data-label="Coins" class="num">${o.coins}</td>
              <td data-label="What">${ROLE_TEXT[o.role]}</td>
            </tr>`)}
          </tbody>
        </table>
        <p>The exact message you sign (transaction <span class="mono">${r.decoded.txid}</span>):</p>
        <pre data-test="review-text">${r.decoded.text}</pre>
        <form @submit=${this.confirm} aria-label="Sign this transaction">
          ${this.locked ? html`<label>Passphrase to sign
            <input name="passphrase" type="password" autocomplete="current-password" required ?disabled=${busy} data-test="sign-passphrase">
          </label>` : nothing}
          <div class="row">
            <button class="primary" type="submit" ?disabled=${busy} data-test="sign">Sign and send</button>
            <button type="button" @click=${this.cancel} ?disabled=${busy} data-test="cancel">Cancel</button>
          </div>
          ${busyNote(this.busy)} ${errorBox(this.error)}
        </form>
      </section>
    `;
  }
}
customElements.define('sign-review', SignReview);
