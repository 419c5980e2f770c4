/**
 * `<send-view>`: send coins. The node prepares the transfer (preparesend), this page checks it
 * (exactly the amount to the recipient, change back, nothing else) and shows it; after the person
 * confirms it signs here and submits the signature (submitsigned).
 */
import { html, LitElement, nothing } from 'lit';
import type { AppContext } from '../context.ts';
import { coinsLabel } from '../format.ts';
import { reviewSend } from '../review.ts';
import { busyNote, errorBox, okBox } from './parts.ts';
import { shared } from './styles.ts';
import { TwoStep } from './two-step.ts';

export class SendView extends LitElement {
  static override styles = [shared];
  static override properties = {
    ctx: { attribute: false },
    revision: { type: Number },
  };

  declare ctx: AppContext | undefined;
  declare revision: number;
  private readonly flow = new TwoStep(this, () => this.ctx);

  constructor() {
    super();
    this.revision = 0;
  }

  private submit(ev: SubmitEvent): void {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement).value;
    const from = value('from');
    const to = value('to');
    const amount = value('amount');
    void this.flow.prepare((ctx, chain) => reviewSend(ctx.api, chain, ctx.wallet.find(from), to, amount));
  }

  override render() {
    const ctx = this.ctx;
    if (!ctx) return nothing;
    const addresses = ctx.wallet.addresses();
    const busy = !!this.flow.busy || !!this.flow.review;
    const done = this.flow.signed;
    return html`
      <h2 tabindex="-1">Send coins</h2>
      <form class="card" @submit=${this.submit} aria-label="Send coins" data-test="send-form">
        <label>From
          <select name="from" required ?disabled=${busy} data-test="send-from">
            ${addresses.map((a) => html`<option value=${a.address}>${a.address}</option>`)}
          </select>
        </label>
        <label>To <span class="hint">an OurSQL address (starts with 1)</span>
          <input name="to" required autocomplete="off" spellcheck="false" list="own-addresses" ?disabled=${busy} data-test="send-to">
          <datalist id="own-addresses">${addresses.map((a) => html`<option value=${a.address}></option>`)}</datalist>
        </label>
        <label>Amount <span class="hint">coins, up to 8 decimals</span>
          <input name="amount" required inputmode="decimal" autocomplete="off" pattern="[0-9]+([.][0-9]{1,8})?" ?disabled=${busy} data-test="send-amount">
        </label>
        <div class="row"><button class="primary" type="submit" ?disabled=${busy} data-test="prepare">Prepare</button></div>
        <p class="muted">Nothing is signed yet: you will see the exact transaction first.</p>
        ${busyNote(this.flow.busy)} ${errorBox(this.flow.error)}
      </form>
      ${this.flow.renderReview(!ctx.wallet.unlocked)}
      ${done ? okBox(html`<span data-test="sent">Sent ${coinsLabel(done.review.payment!.coins)} to <span class="mono">${done.review.payment!.to}</span>:
        pending until a block includes it. Transaction <span class="mono" data-test="txid">${done.result.txid}</span>.</span>`) : nothing}
    `;
  }
}
customElements.define('send-view', SendView);
