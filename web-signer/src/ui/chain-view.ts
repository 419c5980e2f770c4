/**
 * `<chain-view>`: the node's chain: its tip and the pinned chain (getblockchaininfo), the latest
 * blocks (listblocks), one block's transactions (getblock), and the pool (getpool).
 */
import { html, LitElement, nothing } from 'lit';
import { addressOf, isCoinbase, unitsToCoins, parseUnits, type TxBody } from '../../../consensus/index.ts';
import { repin } from '../chain-pin.ts';
import type { AppContext } from '../context.ts';
import { coinsLabel, short, when } from '../format.ts';
import type { BlockDetail, BlockSummary, ChainInfo, Pool } from '../node-api.ts';
import { readPin, type ChainPin } from '../storage.ts';
import { busyNote, errorBox, guarded } from './parts.ts';
import { shared } from './styles.ts';

const BLOCKS_SHOWN = 10;

function txSummary(body: TxBody) {
  try {
    const outs = body.out.map((o) => `${coinsLabel(unitsToCoins(parseUnits(o.amount)))} → ${o.to ?? 'burned'}`).join(', ');
    if (isCoinbase(body)) return html`<strong>coinbase</strong> <span class="mono">${outs}</span>`;
    return html`
      <strong>${body.sql ? 'SQL' : 'transfer'}</strong> signed by <span class="mono">${addressOf(body.from)}</span>
      ${body.out.length ? html`<br><span class="mono">${outs}</span>` : nothing}
      ${body.sql ? html`<br><code>${body.sql.stmts.join('; ')}</code>` : nothing}
    `;
  } catch {
    return html`<em>a body this page cannot read</em>`;
  }
}

export class ChainView extends LitElement {
  static override styles = [shared];
  static override properties = {
    ctx: { attribute: false },
    info: { state: true },
    pin: { state: true },
    blocks: { state: true },
    block: { state: true },
    pool: { state: true },
    busy: { state: true },
    error: { state: true },
    blockBusy: { state: true },
    blockError: { state: true },
  };

  declare ctx: AppContext | undefined;
  declare info: ChainInfo | undefined;
  declare pin: ChainPin | undefined;
  declare blocks: BlockSummary[];
  declare block: BlockDetail | undefined;
  declare pool: Pool | undefined;
  declare busy: string | undefined;
  declare error: string | undefined;
  declare blockBusy: string | undefined;
  declare blockError: string | undefined;

  constructor() {
    super();
    this.blocks = [];
  }

  override firstUpdated(): void {
    void this.refresh();
  }

  async refresh(): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) return;
    await guarded((b) => (this.busy = b), (e) => (this.error = e), 'Loading the chain…', async () => {
      const [info, blocks, pool, pin] = await Promise.all([ctx.api.chainInfo(), ctx.api.latestBlocks(BLOCKS_SHOWN), ctx.api.pool(), readPin(ctx.kv)]);
      Object.assign(this, { info, blocks, pool, pin });
    });
  }

  private async show(hash: string): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) return;
    const b = await guarded((x) => (this.blockBusy = x), (e) => (this.blockError = e), 'Loading the block…', () => ctx.api.block(hash));
    if (b) {
      this.block = b;
      await this.updateComplete;
      this.renderRoot.querySelector<HTMLElement>('#block-h')?.focus();
    }
  }

  private async pinNow(): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) return;
    await guarded((b) => (this.busy = b), (e) => (this.error = e), 'Checking and pinning the node\'s chain…', async () => {
      await repin(ctx.api.call, ctx.kv);
      this.pin = await readPin(ctx.kv);
    });
  }

  private renderPin() {
    const info = this.info;
    if (!info) return nothing;
    if (!this.pin) return html`<dd>not pinned yet: the first signature pins the node's chain</dd>`;
    if (this.pin.chain === info.genesis && this.pin.consensus === info.consensus) return html`<dd class="confirmed">this chain (signatures are checked against it)</dd>`;
    return html`<dd class="error" role="alert">the node is on another chain than the pinned
      <span class="mono">${short(this.pin.chain, 16)}</span>: nothing is signed.
      <button type="button" @click=${this.pinNow}>Pin the node's chain</button></dd>`;
  }

  override render() {
    const info = this.info;
    return html`
      <div class="row spread">
        <h2 tabindex="-1">Chain</h2>
        <button type="button" @click=${this.refresh} ?disabled=${!!this.busy} data-test="refresh">Refresh</button>
      </div>
      ${busyNote(this.busy)} ${errorBox(this.error)}
      ${info ? html`<section class="card" aria-label="Chain summary" data-test="chain-info">
        <dl class="facts">
          <dt>Chain</dt><dd>${info.chain}</dd>
          <dt>Height</dt><dd data-test="height">${info.height}</dd>
          <dt>Tip</dt><dd class="mono">${info.bestblockhash}</dd>
          <dt>Tip time</dt><dd>${when(info.time)}</dd>
          <dt>Genesis</dt><dd class="mono">${info.genesis}</dd>
          <dt>Consensus</dt><dd class="mono">${info.consensus}</dd>
          <dt>Pinned</dt>${this.renderPin()}
        </dl>
      </section>` : nothing}

      <section class="card" aria-labelledby="blocks-h">
        <h3 id="blocks-h">Latest blocks</h3>
        <table class="stack" data-test="blocks">
          <thead><tr><th scope="col">Height</th><th scope="col">Hash</th><th scope="col">Time</th><th class="num" scope="col">Txs</th></tr></thead>
          <tbody>
            ${this.blocks.map((b) => html`<tr>
              <td data-label="Height">${b.height}</td>
              <td data-label="Hash"><button class="link mono" type="button" title=${b.hash} @click=${() => this.show(b.hash)}
                aria-label="Show block ${b.height}" data-test="block-${b.height}">${short(b.hash, 16)}</button></td>
              <td data-label="Time">${when(b.header.time)}</td>
              <td data-label="Txs" class="num">${b.ntx}</td>
            </tr>`)}
          </tbody>
        </table>
        ${busyNote(this.blockBusy)} ${errorBox(this.blockError)}
      </section>

      ${this.block ? html`<section class="card" aria-labelledby="block-h" data-test="block">
        <h3 id="block-h" tabindex="-1">Block ${this.block.height}</h3>
        <p class="mono">${this.block.hash}</p>
        <p class="muted">${when(this.block.header.time)} · ${this.block.confirmations} confirmation(s) · ${this.block.ntx} transaction(s)</p>
        <ol>
          ${this.block.txs.map((t) => html`<li><span class="mono" title=${t.txid}>${short(t.txid)}</span>: ${txSummary(t.body as unknown as TxBody)}</li>`)}
        </ol>
      </section>` : nothing}

      <section class="card" aria-labelledby="pool-h" data-test="pool">
        <h3 id="pool-h">Pool (${this.pool?.size ?? '…'} pending)</h3>
        ${this.pool && this.pool.txs.length === 0 ? html`<p class="muted">No transaction waits for a block.</p>` : nothing}
        <ol>
          ${(this.pool?.txs ?? []).map((t) => html`<li>
            <span class="mono" title=${t.txid}>${short(t.txid)}</span>: from <span class="mono">${t.from}</span>,
            ${t.out.length ? html`${t.out.map((o) => `${coinsLabel(o.amount)} → ${o.to ?? 'burned'}`).join(', ')}` : 'no coins move'}
            ${t.sql ? html`<br><code>${t.sql.join('; ')}</code>` : nothing}
          </li>`)}
        </ol>
      </section>
    `;
  }
}
customElements.define('chain-view', ChainView);
