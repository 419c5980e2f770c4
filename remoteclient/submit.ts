/**
 * The last step of the two-step flow, once a prepared body was checked and shown: sign its message
 * here and send only the signature; the node must report the txid the body has. Pure: the web
 * signer runs it too.
 */
import { z } from 'zod';
import { signStringToSign } from '../consensus/index.ts';
import { Hash, Prepared, Uint } from '../server/rpc/shapes.ts';
import { TamperError } from './errors.ts';
import type { Call } from './rpc.ts';
import type { Decoded } from './verify.ts';

const Submitted = z.object({ txid: Hash, affectedRows: Uint.optional(), insertId: z.string().optional() });
export type SubmitResult = z.infer<typeof Submitted>;

/** Signs `d` (decoded from `prepared` and checked) with `privateKey` (hex) and submits it. */
export async function signAndSend(call: Call, prepared: z.infer<typeof Prepared>, d: Decoded, privateKey: string): Promise<SubmitResult> {
  if (prepared.txid !== d.txid) throw new TamperError(`the prepared txid ${prepared.txid} is not the checked body's (${d.txid})`);
  const signature = signStringToSign(d.stringToSign, privateKey);
  const r = await call('submitsigned', { transaction: prepared.transaction, signature }, Submitted);
  if (r.txid !== d.txid) throw new TamperError(`the node reports txid ${r.txid} for the transaction ${d.txid}`);
  return r;
}
