import { bytesToHex, hexToBytes, isHex, utf8Decode } from './bytes.ts';
import { fail } from './errors.ts';
import { publicKeyOf } from './keys.ts';
import { nobleVerify, signMessage, type Verifier } from './signature.ts';
import { isCoinbase, makeTx, signedMessage, signedMessageText, txFromRaw, type TransferBody, type Tx } from './tx.ts';

/** What a key holder gets in step one of the two-step flow (SPEC 5, `preparesend`/`preparesql`). */
export interface PreparedTx {
  /** hex of the canonical body */
  transaction: string;
  /** hex of M = prefix ‖ body */
  stringToSign: string;
  txid: string;
  /** M as text, shown to the person before they sign */
  text: string;
}

export function prepareTx(body: TransferBody): PreparedTx {
  const tx = makeTx(body);
  return {
    transaction: bytesToHex(new TextEncoder().encode(tx.raw)),
    stringToSign: bytesToHex(signedMessage(tx.raw)),
    txid: tx.id,
    text: signedMessageText(tx.raw),
  };
}

/** Step two: the body hex as returned by step one plus a signature → a Tx (not yet verified). */
export function txFromPrepared(transactionHex: string, signatureHex: string): Tx {
  if (!isHex(transactionHex)) fail('bad-encoding', 'transaction must be the hex returned by step one');
  let raw: string;
  try {
    raw = utf8Decode(hexToBytes(transactionHex));
  } catch {
    fail('bad-encoding', 'transaction hex is not UTF-8 text');
  }
  return txFromRaw(raw, signatureHex.toLowerCase());
}

/** A private key with its public key derived once (deriving costs more than signing). */
export interface TxSigner { pubkey: string; sign(body: TransferBody): Tx }

/**
 * `signTxid`: another implementation of this key's signature over a txid (the SHA-256 of the
 * signed message), DER hex; it must give the same bytes (RFC 6979, low S). Default: noble.
 * `pubkey`: the key's public key where the caller derived it another way (the same bytes).
 */
export function txSigner(privateKeyHex: string, signTxid?: (txid: string) => string, pubkey = publicKeyOf(privateKeyHex)): TxSigner {
  return {
    pubkey,
    sign(body) {
      if (body.from !== pubkey) fail('bad-key', "private key does not match the body's from");
      const unsigned = makeTx(body);
      return { ...unsigned, sig: signTxid ? signTxid(unsigned.id) : signMessage(signedMessage(unsigned.raw), privateKeyHex) };
    },
  };
}

export function signTx(body: TransferBody, privateKeyHex: string): Tx {
  if (publicKeyOf(privateKeyHex) !== body.from) fail('bad-key', 'private key does not match the body\'s from');
  const unsigned = makeTx(body);
  return { ...unsigned, sig: signMessage(signedMessage(unsigned.raw), privateKeyHex) };
}

/** Signs the hex `stringToSign` from step one (what `oursql-remote` and the web signer do). */
export function signStringToSign(stringToSignHex: string, privateKeyHex: string): string {
  if (!isHex(stringToSignHex)) fail('bad-encoding', 'StringToSign must be hex');
  return signMessage(hexToBytes(stringToSignHex), privateKeyHex);
}

export function hasValidSignature(tx: Tx, verify: Verifier = nobleVerify): boolean {
  if (isCoinbase(tx.body)) return tx.sig === undefined;
  return tx.sig !== undefined && verify(tx.body.from, signedMessage(tx.raw), tx.sig);
}
