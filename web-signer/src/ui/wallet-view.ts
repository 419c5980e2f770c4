/**
 * `<wallet-view>`: the wallet's addresses with their balances (approved, pending, total; RPC
 * getaddressinfo) and the history of one of them (getaddresshistory). Addresses are public: this
 * screen works while locked. Unlocked, it makes new addresses and imports keys.
 */
import { html, LitElement, nothing, type PropertyValues } from 'lit';
import { coinsToUnits, unitsToCoins } from '../../../consensus/index.ts';
import type { AppContext } from '../context.ts';
import { walletChanged } from '../context.ts';
import { coinsLabel, short, signed, when } from '../format.ts';
import type { AddressInfo, History } from '../node-api.ts';
import './key-export.ts';
import './key-import.ts';
import { busyNote, errorBox, errorMessage, guarded } from './parts.ts';
import { shared } from './styles.ts';
import './unlock-form.ts';

/** Balances refresh on their own this often while the screen is shown. */
const REFRESH_MS = 15_000;

export class WalletView extends LitElement {
  static override styles = [shared];
  static override properties = {
    ctx: { attribute: false },
    revision: { type: Number },
    balances: { state: true },
    selected: { state: true },
    history: { state: true },
    busy: { state: true },
    error: { state: true },
    historyError: { state: true },
    keyBusy: { state: true },
    keyError: { state: true },
  };

  declare ctx: AppContext | undefined;
  declare revision: number;
  declare balances: Map<string, AddressInfo>;
  declare selected: string | undefined;
  declare history: History | undefined;
  declare busy: string | undefined;
  declare error: string | undefined;
  declare historyError: string | undefined;
  declare keyBusy: string | undefined;
  declare keyError: string | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  /** A refresh was asked for while one ran: run again when it ends (keys may have been added). */
  private again = false;
  private loading = false;

  constructor() {
    super();
    this.revision = 0;
    this.balances = new Map();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.timer = setInterval(() => void this.refresh(true), REFRESH_MS);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearInterval(this.timer);
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('ctx') || changed.has('revision')) {
      const first = this.ctx?.wallet.addresses()[0]?.address;
      if (this.selected === undefined || !this.ctx?.wallet.addresses().some((a) => a.address === this.selected)) this.selected = first;
      void this.refresh(false);
    }
  }

  /** Reloads balances and the selected address's history; `quiet`: no busy note (timer). */
  async refresh(quiet: boolean): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) return;
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    const load = async () => {
      const infos = await Promise.all(ctx.wallet.addresses().map((a) => ctx.api.addressInfo(a.address)));
      this.balances = new Map(infos.map((i) => [i.address, i]));
      await this.loadHistory();
    };
    try {
      if (quiet) {
        await load().then(() => (this.error = undefined), (e: unknown) => (this.error = errorMessage(e)));
      } else {
        await guarded((b) => (this.busy = b), (e) => (this.error = e), 'Loading balances…', load);
      }
    } finally {
      this.loading = false;
    }
    if (this.again) {
      this.again = false;
      await this.refresh(true);
    }
  }

  private async loadHistory(): Promise<void> {
    const ctx = this.ctx;
    const address = this.selected;
    if (!ctx || !address) {
      this.history = undefined;
      return;
    }
    try {
      const h = await ctx.api.history(address);
      if (this.selected === address) {
        this.history = h;
        this.historyError = undefined;
      }
    } catch (e) {
      this.historyError = errorMessage(e);
    }
  }

  private select(address: string): void {
    if (this.selected === address) return;
    this.selected = address;
    this.history = undefined;
    void this.loadHistory();
  }

  private async newAddress(): Promise<void> {
    const wallet = this.ctx?.wallet;
    if (!wallet) return;
    const made = await guarded((b) => (this.keyBusy = b), (e) => (this.keyError = e), 'Making a new key…', () => wallet.newAddress());
    if (made) {
      this.selected = made.address;
      walletChanged(this);
    }
  }

  private renderBalances() {
    const addresses = this.ctx?.wallet.addresses() ?? [];
    return html`
      <table class="stack" data-test="balances">
        <caption class="sr">Balances of this wallet's addresses, in coins</caption>
        <thead><tr><th scope="col">Address</th><th class="num" scope="col">Approved</th><th class="num" scope="col">Pending</th><th class="num" scope="col">Total</th><th scope="col"><span class="sr">History</span></th></tr></thead>
        <tbody>
          ${addresses.map((a) => {
            const b = this.balances.get(a.address);
            const cell = (v: string | undefined) => v ?? '…';
            return html`<tr data-address=${a.address} class=${a.address === this.selected ? 'selected' : ''}>
              <td data-label="Address" class="mono" title=${a.pubkey}>${a.address}</td>
              <td data-label="Approved" class="num" data-test="approved">${cell(b?.approved)}</td>
              <td data-label="Pending" class="num ${b && b.pending !== '0' ? 'pending' : ''}" data-test="pending">${cell(b?.pending)}</td>
              <td data-label="Total" class="num" data-test="total">${cell(b?.total)}</td>
              <td data-label="">
                <button class="link" type="button" aria-pressed=${a.address === this.selected ? 'true' : 'false'}
                  @click=${() => this.select(a.address)}>History</button>
              </td>
            </tr>`;
          })}
        </tbody>
      </table>
    `;
  }

  private renderHistory() {
    if (!this.selected) return nothing;
    const h = this.history;
    return html`
      <section class="card" aria-labelledby="history-h" data-test="history">
        <h3 id="history-h">History of <span class="mono">${this.selected}</span></h3>
        ${errorBox(this.historyError)}
        ${!h ? busyNote('Loading history…') : h.txs.length === 0 ? html`<p class="muted">No transaction yet.</p>` : html`
          <p class="muted">${h.total} transaction(s), newest first.</p>
          <table class="stack">
            <thead><tr><th scope="col">Status</th><th scope="col">Time</th><th class="num" scope="col">Net</th><th scope="col">From</th><th scope="col">Transaction</th></tr></thead>
            <tbody>
              ${h.txs.map((t) => html`<tr data-txid=${t.txid} data-status=${t.status}>
                <td data-label="Status" class=${t.status === 'pool' ? 'pending' : 'confirmed'}>
                  ${t.status === 'pool' ? 'pending' : html`confirmed in block ${t.height} (${t.confirmations} conf.)`}
                </td>
                <td data-label="Time">${when(t.time)}</td>
                <td data-label="Net" class="num">${signed(t.net)}</td>
                <td data-label="From">${t.from === null ? 'coinbase' : t.from === h.address ? 'this address' : html`<span class="mono" title=${t.from}>${short(t.from, 14)}</span>`}</td>
                <td data-label="Transaction"><span class="mono" title=${t.txid}>${short(t.txid)}</span>
                  ${t.sql ? html`<br><code>${t.sql.join('; ')}</code>` : nothing}</td>
              </tr>`)}
            </tbody>
          </table>`}
      </section>
    `;
  }

  override render() {
    const ctx = this.ctx;
    if (!ctx) return nothing;
    const unlocked = ctx.wallet.unlocked;
    const total = unitsToCoins([...this.balances.values()].reduce((n, b) => n + coinsToUnits(b.total), 0n));
    return html`
      <h2 tabindex="-1">Wallet</h2>
      ${unlocked ? nothing : html`
        <p class="muted">The wallet is locked. Balances and history need no passphrase; signing and adding keys do.</p>
        <unlock-form .wallet=${ctx.wallet}></unlock-form>`}
      <section class="card" aria-labelledby="addresses-h">
        <div class="row spread">
          <h3 id="addresses-h">Addresses</h3>
          <button type="button" @click=${() => this.refresh(false)} ?disabled=${!!this.busy} data-test="refresh">Refresh</button>
        </div>
        ${busyNote(this.busy)} ${errorBox(this.error)}
        ${this.renderBalances()}
        <p data-test="wallet-total">${total === '0' ? html`<span class="muted">No coins yet: have some sent to one of these addresses.</span>` : html`Wallet total: <strong>${coinsLabel(total)}</strong>`}</p>
        ${unlocked ? html`
          <div class="row">
            <button type="button" @click=${this.newAddress} ?disabled=${!!this.keyBusy} data-test="new-address">New address</button>
          </div>
          ${busyNote(this.keyBusy)} ${errorBox(this.keyError)}
          <details>
            <summary>Import keys</summary>
            <key-import .wallet=${ctx.wallet}></key-import>
          </details>
          <details>
            <summary>Export keys (backup)</summary>
            <key-export .wallet=${ctx.wallet}></key-export>
          </details>` : nothing}
      </section>
      ${this.renderHistory()}
    `;
  }
}
customElements.define('wallet-view', WalletView);
