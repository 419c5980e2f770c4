import { fail } from './errors.ts';

/**
 * Strict DER for ECDSA signatures: SEQUENCE { INTEGER r, INTEGER s }. OpenSSL-based signers
 * (PHP openssl_sign, Python cryptography, node:crypto) all produce this form.
 */
export function derToCompact(der: Uint8Array): Uint8Array {
  const bad = (why: string): never => fail('bad-signature', `signature is not valid DER: ${why}`);
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
  const int = (b: Uint8Array): number[] => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const v = Array.from(b.subarray(i));
    return v[0] & 0x80 ? [0, ...v] : v;
  };
  const r = int(compact.subarray(0, 32));
  const s = int(compact.subarray(32, 64));
  return Uint8Array.from([0x30, r.length + s.length + 4, 0x02, r.length, ...r, 0x02, s.length, ...s]);
}
