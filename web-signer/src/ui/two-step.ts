/**
 * The two-step flow as a Lit controller shared by the send and SQL screens: prepare (the node
 * builds the body; review.ts checks it against the pinned chain), show it (`<sign-review>`), and on
 * confirmation sign here and submit (signing.ts). Errors stay in place; nothing is signed unless the
 * person confirmed a body that passed every check.
 */
import { html, nothing, type LitElement, type ReactiveController } from 'lit';
import type { ChainView } from '../../../remoteclient/chain-read.ts';
import { pinnedChain } from '../chain-pin.ts';
import { walletChanged, type AppContext } from '../context.ts';
import type { Review } from '../review.ts';
import { signReview, type SubmitResult } from '../signing.ts';
import { errorMessage } from './parts.ts';
import './sign-review.ts';
import type { ConfirmDetail } from './sign-review.ts';

export interface Signed { review: Review; result: SubmitResult }

export class TwoStep implements ReactiveController {
  review: Review | undefined;
  /** Step one running (busy note) or failed (error), shown by the form. */
  busy: string | undefined;
  error: string | undefined;
  private signBusy: string | undefined;
  private signError: string | undefined;
  signed: Signed | undefined;

  constructor(
    private readonly host: LitElement,
    private readonly context: () => AppContext | undefined,
  ) {
    host.addController(this);
  }

  /** Leaving the screen drops a body that was shown but not signed. */
  hostDisconnected(): void {
    this.review = undefined;
  }

  private set(fn: () => void): void {
    fn();
    this.host.requestUpdate();
  }

  /** Step one: `make` asks the node and checks its answer; a body that passes is shown. */
  async prepare(make: (ctx: AppContext, chain: ChainView) => Promise<Review>): Promise<void> {
    const ctx = this.context();
    if (!ctx || this.busy) return;
    this.set(() => {
      this.review = undefined;
      this.signed = undefined;
      this.error = undefined;
      this.signError = undefined;
      this.busy = 'Asking the node to prepare the transaction, then checking it…';
    });
    try {
      const chain = await pinnedChain(ctx.api.call, ctx.kv);
      const review = await make(ctx, chain);
      this.set(() => (this.review = review));
    } catch (e) {
      this.set(() => (this.error = errorMessage(e)));
    } finally {
      this.set(() => (this.busy = undefined));
    }
  }

  /** The person said yes: unlock if asked, sign here, submit; true when the node took it. */
  private async confirm(detail: ConfirmDetail): Promise<void> {
    const ctx = this.context();
    const review = this.review;
    if (!ctx || !review || this.signBusy) return;
    this.set(() => {
      this.signError = undefined;
      this.signBusy = detail.passphrase !== undefined ? 'Unlocking, signing and sending…' : 'Signing and sending…';
    });
    try {
      if (detail.passphrase !== undefined && !ctx.wallet.unlocked) {
        await ctx.wallet.unlock(detail.passphrase);
        walletChanged(this.host);
      }
      const result = await signReview(ctx.api, ctx.wallet, review);
      this.set(() => {
        this.signed = { review, result };
        this.review = undefined;
      });
    } catch (e) {
      this.set(() => (this.signError = errorMessage(e)));
    } finally {
      this.set(() => (this.signBusy = undefined));
    }
  }

  private cancel(): void {
    this.set(() => {
      this.review = undefined;
      this.signError = undefined;
    });
    this.host.renderRoot.querySelector<HTMLElement>('form [name]')?.focus();
  }

  renderReview(locked: boolean) {
    if (!this.review) return nothing;
    return html`<sign-review .review=${this.review} ?locked=${locked} .busy=${this.signBusy} .error=${this.signError}
      @confirm=${(e: CustomEvent<ConfirmDetail>) => this.confirm(e.detail)} @cancel=${() => this.cancel()}></sign-review>`;
  }
}
