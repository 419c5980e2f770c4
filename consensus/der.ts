import { fail } from './errors.ts';

const bad = (why: string): never => fail('bad-signature', `signature is not valid DER: ${why}`);

/**
 * Strict DER for ECDSA signatures: SEQUENCE { INTEGER r, INTEGER s }. OpenSSL-based signers
 * (PHP openssl_sign, Python cryptography, node:crypto) all produce this form.
 */
export function derToCompact(der: Uint8Array): Uint8Array {
  if (der.length < 8 || der.length > 72 || der[0] !== 0x30) bad('no SEQUENCE');
  if (der[1] !== der.length - 2) bad('wrong length');
  const out = new Uint8Array(64);
  let at = 2;
  for (const slot of [0, 32]) {
    if (der[at] !== 0x02) bad('no INTEGER');
    const len = der[at + 1];
    const start = at + 2;
    if (len === 0 || len > 33 || start + len > der.length) bad('bad INTEGER length');
    if (der[start] & 0x80) bad('negative INTEGER');
    if (len > 1 && der[start] === 0 && !(der[start + 1] & 0x80)) bad('INTEGER not minimal');
    const value = der.subarray(start, start + len);
    const trimmed = value[0] === 0 ? value.subarray(1) : value;
    if (trimmed.length > 32) bad('INTEGER too large');
    out.set(trimmed, slot + 32 - trimmed.length);
    at = start + len;
  }
  if (at !== der.length) bad('trailing bytes');
  return out;
}

export function compactToDer(compact: Uint8Array): Uint8Array {
  // Each INTEGER: its 32 bytes without leading zeros (one kept for 0), a zero before a high bit.
  const start = (at: number): number => {
    let i = at;
    while (i < at + 31 && compact[i] === 0) i++;
    return i;
  };
  const rAt = start(0);
  const sAt = start(32);
  const rPad = compact[rAt] & 0x80 ? 1 : 0;
  const sPad = compact[sAt] & 0x80 ? 1 : 0;
  const rLen = 32 - rAt + rPad;
  const sLen = 64 - sAt + sPad;
  const out = new Uint8Array(6 + rLen + sLen);
  out[0] = 0x30;
  out[1] = 4 + rLen + sLen;
  out[2] = 0x02;
  out[3] = rLen;
  out.set(compact.subarray(rAt, 32), 4 + rPad);
  out[4 + rLen] = 0x02;
  out[5 + rLen] = sLen;
  out.set(compact.subarray(sAt, 64), 6 + rLen + sPad);
  return out;
}
