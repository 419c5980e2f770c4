/**
 * `<oursql-app>`: the web signer. Opens the wallet kept in IndexedDB and talks JSON-RPC to the node
 * that serves this page; shows setup (no wallet yet) or the screens: wallet, send, SQL, chain. The
 * wallet locks itself after a while without use, and on demand.
 */
import { html, LitElement, nothing, css } from 'lit';
import { WALLET_CHANGED, type AppContext } from '../context.ts';
import { openKeyValueStore } from '../idb.ts';
import { NodeApi, pageRpcUrl } from '../node-api.ts';
import { ROUTE_TITLES, ROUTES, routeOf, type Route } from '../route.ts';
import { browserKeystoreStorage } from '../storage.ts';
import { Wallet } from '../wallet.ts';
import './chain-view.ts';
import { errorMessage } from './parts.ts';
import './send-view.ts';
import './sql-view.ts';
import { shared } from './styles.ts';
import './wallet-setup.ts';
import './wallet-view.ts';

/** Unlocked and untouched this long: the wallet locks itself. */
const AUTO_LOCK_MS = 15 * 60_000;

export class OursqlApp extends LitElement {
  static override styles = [
    shared,
    css`
      :host { max-width: 62rem; margin: 0 auto; padding: 0 0.75rem 2rem; }
      header { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: center; justify-content: space-between; padding: 0.75rem 0; }
      header h1 { font-size: 1.2rem; margin: 0; }
      nav ul { display: flex; flex-wrap: wrap; gap: 0.25rem; list-style: none; margin: 0 0 1rem; padding: 0; border-bottom: 1px solid var(--line); }
      nav a { display: inline-block; padding: 0.55rem 0.85rem; color: inherit; text-decoration: none; border-bottom: 3px solid transparent; }
      nav a[aria-current='page'] { border-bottom-color: var(--accent); font-weight: 600; }
      main:focus { outline: none; }
      .lock { display: flex; gap: 0.5rem; align-items: center; }
      .skip { position: absolute; left: -999px; }
      .skip:focus { left: 0.5rem; top: 0.5rem; background: var(--card); padding: 0.5rem; z-index: 1; }
    `,
  ];
  static override properties = {
    ctx: { state: true },
    route: { state: true },
    revision: { state: true },
    fatal: { state: true },
  };

  declare ctx: AppContext | undefined;
  declare route: Route;
  declare revision: number;
  declare fatal: string | undefined;
  private lockTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly onHash = () => this.go(routeOf(location.hash));
  private readonly onActivity = () => this.armAutoLock();
  private readonly onWalletChanged = () => {
    this.revision++;
    this.armAutoLock();
  };

  constructor() {
    super();
    this.route = routeOf(location.hash);
    this.revision = 0;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('hashchange', this.onHash);
    window.addEventListener('pointerdown', this.onActivity);
    window.addEventListener('keydown', this.onActivity);
    this.addEventListener(WALLET_CHANGED, this.onWalletChanged);
    void this.start();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('hashchange', this.onHash);
    window.removeEventListener('pointerdown', this.onActivity);
    window.removeEventListener('keydown', this.onActivity);
    this.removeEventListener(WALLET_CHANGED, this.onWalletChanged);
    clearTimeout(this.lockTimer);
    this.ctx?.wallet.lock();
  }

  private async start(): Promise<void> {
    try {
      const kv = await openKeyValueStore();
      const wallet = await Wallet.open(browserKeystoreStorage(kv));
      this.ctx = { kv, wallet, api: NodeApi.at(pageRpcUrl(document.baseURI)) };
    } catch (e) {
      this.fatal = errorMessage(e);
    }
  }

  private async go(route: Route): Promise<void> {
    if (route === this.route) return;
    this.route = route;
    await this.updateComplete;
    // Move focus to the new screen's heading, so keyboard and screen reader users land on it.
    const screen = this.renderRoot.querySelector('main > *') as LitElement | null;
    await screen?.updateComplete;
    screen?.renderRoot.querySelector<HTMLElement>('h2')?.focus();
  }

  private armAutoLock(): void {
    clearTimeout(this.lockTimer);
    if (!this.ctx?.wallet.unlocked) return;
    this.lockTimer = setTimeout(() => this.lock(), AUTO_LOCK_MS);
  }

  private lock(): void {
    this.ctx?.wallet.lock();
    this.revision++;
  }

  private renderScreen(ctx: AppContext) {
    if (!ctx.wallet.exists) return html`<wallet-setup .wallet=${ctx.wallet}></wallet-setup>`;
    switch (this.route) {
      case 'send':
        return html`<send-view .ctx=${ctx} .revision=${this.revision}></send-view>`;
      case 'sql':
        return html`<sql-view .ctx=${ctx} .revision=${this.revision}></sql-view>`;
      case 'chain':
        return html`<chain-view .ctx=${ctx}></chain-view>`;
      default:
        return html`<wallet-view .ctx=${ctx} .revision=${this.revision}></wallet-view>`;
    }
  }

  override render() {
    const ctx = this.ctx;
    const exists = !!ctx?.wallet.exists;
    return html`
      <a class="skip" href="#main" @click=${(e: Event) => { e.preventDefault(); this.renderRoot.querySelector<HTMLElement>('main')?.focus(); }}>Skip to content</a>
      <header>
        <h1>OurSQL web signer</h1>
        ${exists ? html`<div class="lock" data-test="lock-state">
          ${ctx!.wallet.unlocked
            ? html`<span>Unlocked</span><button type="button" @click=${this.lock} data-test="lock">Lock</button>`
            : html`<span class="muted">Locked</span>`}
        </div>` : nothing}
      </header>
      ${exists ? html`<nav aria-label="Screens"><ul>
        ${ROUTES.map((r) => html`<li><a href="#/${r}" aria-current=${r === this.route ? 'page' : 'false'} data-test="nav-${r}">${ROUTE_TITLES[r]}</a></li>`)}
      </ul></nav>` : nothing}
      <main id="main" tabindex="-1">
        ${this.fatal ? html`<div class="error" role="alert">${this.fatal}</div>` : ctx ? this.renderScreen(ctx) : html`<p class="busy" role="status">Opening the wallet…</p>`}
      </main>
    `;
  }
}
customElements.define('oursql-app', OursqlApp);
