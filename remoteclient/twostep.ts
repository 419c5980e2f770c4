/**
 * The key holder's side of the two-step flow: check what the node prepared, show the exact message,
 * sign it here, send only the signature. The private key never leaves this process.
 */
import type { z } from 'zod';
import type { Prepared } from '../server/rpc/shapes.ts';
import { RemoteError } from './errors.ts';
import { note } from './output.ts';
import { confirmSigning } from './prompt.ts';
import type { Call } from './rpc.ts';
import { signAndSend, type SubmitResult } from './submit.ts';
import { decodePrepared, type Decoded } from './verify.ts';

export type { SubmitResult };

/** Who signs; the private key is asked for (passphrase) only once the body checked out. */
export interface Signer { address: string; privateKey: () => Promise<string> }

/**
 * `prepared` checked by `check` (which throws TamperError and returns a line saying what is
 * signed), shown, confirmed, signed with the signer's key and submitted.
 */
export async function signAndSubmit(
  call: Call,
  prepared: z.infer<typeof Prepared>,
  check: (d: Decoded) => string,
  signer: Signer,
  yes: boolean,
): Promise<SubmitResult> {
  const d = decodePrepared(prepared);
  const what = check(d);
  note(`${what}\nThe message to sign (${signer.address}):\n${d.text}`);
  if (!(await confirmSigning(yes))) throw new RemoteError('not signed: cancelled');
  return signAndSend(call, prepared, d, await signer.privateKey());
}
