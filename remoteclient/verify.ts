/**
 * Checks a body the node prepared against what the person asked for, before anything is signed:
 * a node that returns something else (another amount, recipient, signer or chain, an extra output,
 * a message text that is not the body) is refused. Pure: no I/O. Updates: verify-sql.ts.
 */
import {
  addressOf, bytesToHex, checkBodyShape, hexToBytes, isCoinbase, isHex, MAX_CLOCK_DRIFT_MS, parseCanonical, parseUnits,
  signedMessage, signedMessageText, txidOf, unitsToCoins, utf8Decode, type TransferBody,
} from '../consensus/index.ts';
import { TamperError } from './errors.ts';

export interface PreparedAnswer { transaction: string; stringToSign: string; txid: string; text: string }

/** A prepared body decoded and checked to be self-consistent: what will be signed is `message`. */
export interface Decoded {
  raw: string;
  body: TransferBody;
  txid: string;
  /** M as text: shown to the person. */
  text: string;
  /** hex(M): what is signed. */
  stringToSign: string;
}

/** The body from its hex, with txid, StringToSign and Text recomputed here and compared. */
export function decodePrepared(p: PreparedAnswer): Decoded {
  if (!isHex(p.transaction)) throw new TamperError('the transaction is not lowercase hex');
  let raw: string;
  let body: unknown;
  try {
    raw = utf8Decode(hexToBytes(p.transaction));
    body = parseCanonical(raw);
    checkBodyShape(body, raw.length);
  } catch (e) {
    throw new TamperError(`the transaction is not a valid body: ${(e as Error).message}`);
  }
  if (isCoinbase(body)) throw new TamperError('the node sent a coinbase to sign');
  const d: Decoded = { raw, body, txid: txidOf(raw), text: signedMessageText(raw), stringToSign: bytesToHex(signedMessage(raw)) };
  if (p.txid !== d.txid) throw new TamperError(`the txid ${p.txid} is not the body's (${d.txid})`);
  if (p.stringToSign !== d.stringToSign) throw new TamperError('the StringToSign is not the message of the body');
  if (p.text !== d.text) throw new TamperError('the Text is not the body as readable text');
  return d;
}

export interface Common { pubkey: string; chain: string; now: number }

export function checkCommon(body: TransferBody, want: Common): void {
  if (body.from !== want.pubkey) throw new TamperError(`the body is signed by ${body.from}, not by this key (${want.pubkey})`);
  if (body.chain !== want.chain) throw new TamperError(`the body is for chain ${body.chain}, not the pinned chain ${want.chain}`);
  if (Math.abs(body.time - want.now) > MAX_CLOCK_DRIFT_MS) throw new TamperError(`the body's time ${new Date(body.time).toISOString()} is more than 2 hours away from now`);
}

/** Outputs other than change back to the signer: exactly those `expected`, in any order. */
export function checkOutputs(body: TransferBody, own: string, expected: { to: string | null; units: bigint }[]): void {
  const others = body.out.filter((o) => o.to !== own);
  const left = [...expected];
  for (const o of others) {
    const i = left.findIndex((e) => e.to === o.to && e.units === parseUnits(o.amount));
    if (i < 0) throw new TamperError(`the body pays ${unitsToCoins(parseUnits(o.amount))} coins to ${o.to ?? 'burn'}, which was not asked for`);
    left.splice(i, 1);
  }
  for (const e of left) {
    // Paying oneself: the payment is one of the outputs to the signer's own address.
    const self = e.to === own && body.out.some((o) => o.to === own && parseUnits(o.amount) === e.units);
    if (!self) throw new TamperError(`the body does not pay ${unitsToCoins(e.units)} coins to ${e.to ?? 'burn'}`);
  }
}

/** A transfer: from this key, on the pinned chain, `units` to `to`, the rest back to the sender, no SQL. */
export function checkTransfer(d: Decoded, want: Common & { to: string; units: bigint }): void {
  checkCommon(d.body, want);
  if (d.body.sql) throw new TamperError('a transfer was asked for, the body carries SQL');
  if (d.body.in.length === 0) throw new TamperError('the body spends no coins');
  checkOutputs(d.body, addressOf(want.pubkey), [{ to: want.to, units: want.units }]);
}
