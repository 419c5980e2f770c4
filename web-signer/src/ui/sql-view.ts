/**
 * `<sql-view>`: one update (INSERT, UPDATE, DELETE, REPLACE, DDL) signed by a key of this wallet.
 * The node runs it in a transaction it rolls back and returns the body (preparesql); this page
 * checks it is the statement typed (made deterministic), about its table only, paying exactly its
 * cost, shows it, signs here after confirmation and submits the signature (submitsigned).
 */
import { html, LitElement, nothing } from 'lit';
import { SqlClassifier } from '../../../server/sql/classify.ts';
import type { AppContext } from '../context.ts';
import { reviewSql } from '../review.ts';
import { busyNote, errorBox, okBox } from './parts.ts';
import { shared } from './styles.ts';
import { TwoStep } from './two-step.ts';

export class SqlView extends LitElement {
  static override styles = [shared];
  static override properties = {
    ctx: { attribute: false },
    revision: { type: Number },
  };

  declare ctx: AppContext | undefined;
  declare revision: number;
  private readonly flow = new TwoStep(this, () => this.ctx);
  private classifier: SqlClassifier | undefined;

  constructor() {
    super();
    this.revision = 0;
  }

  private submit(ev: SubmitEvent): void {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const from = (form.elements.namedItem('from') as HTMLSelectElement).value;
    const sql = (form.elements.namedItem('sql') as HTMLTextAreaElement).value;
    this.classifier ??= new SqlClassifier();
    const classifier = this.classifier;
    void this.flow.prepare((ctx, chain) => reviewSql(ctx.api, chain, ctx.wallet.find(from), sql, classifier));
  }

  override render() {
    const ctx = this.ctx;
    if (!ctx) return nothing;
    const busy = !!this.flow.busy || !!this.flow.review;
    const done = this.flow.signed;
    return html`
      <h2 tabindex="-1">Run SQL</h2>
      <form class="card" @submit=${this.submit} aria-label="Run an SQL update" data-test="sql-form">
        <label>Signed by
          <select name="from" required ?disabled=${busy} data-test="sql-from">
            ${ctx.wallet.addresses().map((a) => html`<option value=${a.address}>${a.address}</option>`)}
          </select>
        </label>
        <label>Statement <span class="hint">one update on the node's database: INSERT, UPDATE, DELETE, REPLACE, CREATE/ALTER/DROP TABLE…
          (reads go to MySQL through the node's proxy)</span>
          <textarea name="sql" required spellcheck="false" ?disabled=${busy} data-test="sql-text"></textarea>
        </label>
        <div class="row"><button class="primary" type="submit" ?disabled=${busy} data-test="prepare">Prepare</button></div>
        <p class="muted">The node tries the statement and rolls it back; nothing runs until you sign.</p>
        ${busyNote(this.flow.busy)} ${errorBox(this.flow.error)}
      </form>
      ${this.flow.renderReview(!ctx.wallet.unlocked)}
      ${done ? okBox(html`<span data-test="sql-done">Done: ${done.result.affectedRows ?? 0} row(s) affected${done.result.insertId && done.result.insertId !== '0' ? html`, insert id ${done.result.insertId}` : nothing}.
        Pending until a block includes it. Transaction <span class="mono" data-test="txid">${done.result.txid}</span>.</span>`) : nothing}
    `;
  }
}
customElements.define('sql-view', SqlView);
