/**
 * Step two, once the person confirmed what review.ts showed: the private key is unsealed, signs the
 * checked message here, and only the signature goes to the node (submitsigned), which must report
 * the same txid. The key is not kept.
 */
import { signAndSend, type SubmitResult } from '../../remoteclient/submit.ts';
import type { NodeApi } from './node-api.ts';
import type { Review } from './review.ts';
import type { Wallet } from './wallet.ts';

export type { SubmitResult };

export function signReview(api: NodeApi, wallet: Wallet, review: Review): Promise<SubmitResult> {
  return signAndSend(api.call, review.prepared, review.decoded, wallet.privateKey(review.signer.address));
}
