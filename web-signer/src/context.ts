/** What every screen is given by the app: the browser storage, the wallet and the node. */
import type { KeyValueStore } from './idb.ts';
import type { NodeApi } from './node-api.ts';
import type { Wallet } from './wallet.ts';

export interface AppContext {
  kv: KeyValueStore;
  wallet: Wallet;
  api: NodeApi;
}

/** Fired (bubbling out of shadow roots) when the wallet changed: keys added, locked or unlocked. */
export const WALLET_CHANGED = 'wallet-changed';

export function walletChanged(from: EventTarget): void {
  from.dispatchEvent(new CustomEvent(WALLET_CHANGED, { bubbles: true, composed: true }));
}
