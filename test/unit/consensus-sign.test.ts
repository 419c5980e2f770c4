import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addressOf, canonicalize, compactToDer, ConsensusError, derToCompact, hasValidSignature, makeTx, nobleVerify, prepareTx,
  publicKeyOf, signedMessage, signedMessageText, signMessage, signStringToSign, signTx, signatureToCompact, SIGNED_TX_PREFIX,
  txFromPrepared, txFromRaw, txFromWire, txToWire, type TransferBody, type Tx, type Verifier,
} from '../../consensus/index.ts';
import {
  KEY_A, KEY_B, KEY_C, N, derEncode, derParse, hex32, opensslSign, opensslVerify, sha256Hex, throwsCode, canon } from './consensus-helpers.ts';

const CHAIN = sha256Hex('oursql consensus-sign test chain');
const PUB_A = publicKeyOf(KEY_A);
const PUB_B = publicKeyOf(KEY_B);
const ADDR_A = addressOf(PUB_A);
const ADDR_B = addressOf(PUB_B);
const ADDR_C = addressOf(publicKeyOf(KEY_C));
const FUND1 = sha256Hex('funding 1');
const FUND2 = sha256Hex('funding 2');

function baseBody(): TransferBody {
  return {
    v: 1,
    chain: CHAIN,
    time: 1_700_000_000_123,
    from: PUB_A,
    in: [{ tx: FUND1, n: 0 }, { tx: FUND2, n: 3 }],
    out: [
      { to: ADDR_B, amount: '150000000' },
      { to: ADDR_A, amount: '49990000' },
      { to: null, amount: '10000' },
    ],
    sql: {
      stmts: ["INSERT INTO `members` (`id`,`name`) VALUES (1,'Ann \"the\" Admin')"],
      undo: ['DELETE FROM `members` WHERE `id`=1'],
      refs: ['members:1'],
      base: { 'members:1': null },
    },
  };
}


const isLowS = (derHex: string): boolean => derParse(derHex).s <= N / 2n;

/** Pinned: RFC 6979 deterministic signature of baseBody() by KEY_A (DER, low-S). */
const PINNED_SIG =
  '30450221009d27ac9a20362334234c4d808ae800359726b96720cc49044dbcf4c401ea88c702200d90c9306b9526afad1063064c4f20fdae8f1a46e44e9407b6a36bbe94128c6f';

const opensslVerifier: Verifier = (pub, message, sigHex) => {
  const raw = Buffer.from(sigHex, 'hex');
  const der = raw.length === 64 ? Buffer.from(compactToDer(raw)).toString('hex') : sigHex;
  try {
    return opensslVerify(pub, message, der);
  } catch {
    return false;
  }
};

test('RFC 6979 known vectors (private key 1, bitcoin test set) come out exactly', () => {
  const k1 = hex32(1n);
  assert.equal(
    signMessage(new TextEncoder().encode('Satoshi Nakamoto'), k1),
    '3045022100934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d802202442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5',
  );
  assert.equal(
    signMessage(new TextEncoder().encode('All those moments will be lost in time, like tears in rain. Time to die...'), k1),
    '30450221008600dbd41e348fe5c9465ab92d23e3db8b98b873beecd930736488696438cb6b0220547fe64427496db33bf66019dacbf0039c04199abb0122918601db38a72cfc21',
  );
});

test('the signed message is the prefix plus the canonical body, and the txid is sha256 of it', () => {
  const tx = makeTx(baseBody());
  assert.equal(tx.raw, canon(baseBody()));
  assert.equal(SIGNED_TX_PREFIX, 'OurSQL signed transaction v1\n');
  assert.equal(signedMessageText(tx.raw), 'OurSQL signed transaction v1\n' + canon(baseBody()));
  assert.deepEqual(Buffer.from(signedMessage(tx.raw)), Buffer.from('OurSQL signed transaction v1\n' + canon(baseBody()), 'utf8'));
  assert.equal(tx.id, sha256Hex('OurSQL signed transaction v1\n' + canon(baseBody())));
  // Key order of the object we build does not matter: the canonical text is the same.
  const b = baseBody();
  const reordered = { sql: b.sql, out: b.out, in: b.in, from: b.from, time: b.time, chain: b.chain, v: b.v } as TransferBody;
  assert.equal(makeTx(reordered).raw, tx.raw);
  assert.equal(makeTx(reordered).id, tx.id);
  // Non-ASCII text is signed as UTF-8.
  const u = baseBody();
  u.sql!.stmts = ["INSERT INTO `t` VALUES ('Zoë — 東京 🙂')"];
  const ut = makeTx(u);
  assert.equal(ut.id, sha256Hex(Buffer.from('OurSQL signed transaction v1\n' + canon(u), 'utf8')));
  assert.ok(ut.raw.includes('Zoë — 東京 🙂'), 'no \\u escapes for printable non-ASCII');
});

test('signTx / hasValidSignature round trip; signatures are deterministic, low-S DER and pinned', () => {
  const tx = signTx(baseBody(), KEY_A);
  assert.ok(hasValidSignature(tx));
  assert.equal(signTx(baseBody(), KEY_A).sig, tx.sig, 'RFC 6979: same key and body → same signature');
  assert.equal(tx.sig, PINNED_SIG);
  assert.match(tx.sig!, /^30[0-9a-f]+$/);
  assert.ok(isLowS(tx.sig!));
  assert.ok(opensslVerify(PUB_A, signedMessage(tx.raw), tx.sig!), 'OpenSSL accepts our signature');
  assert.ok(hasValidSignature(tx, opensslVerifier), 'a swapped-in verifier (OpenSSL) agrees');
  // the signature is over M, not over the bare body
  assert.equal(nobleVerify(PUB_A, new TextEncoder().encode(tx.raw), tx.sig!), false);
  // every signature we make is low-S
  for (let t = 0; t < 30; t++) {
    const b = baseBody();
    b.time += t;
    const s = signTx(b, KEY_A);
    assert.ok(isLowS(s.sig!), `time +${t}`);
    assert.ok(hasValidSignature(s));
  }
});

test('signTx refuses a key that does not match from', () => {
  throwsCode(() => signTx(baseBody(), KEY_B), 'bad-key');
});

test('a signature by another key, or for another body, does not verify', () => {
  const tx = signTx(baseBody(), KEY_A);
  const other = makeTx(baseBody(), signMessage(signedMessage(tx.raw), KEY_B));
  assert.equal(hasValidSignature(other), false);
  const b2 = baseBody();
  b2.time += 1;
  const sigOf2 = signTx(b2, KEY_A).sig!;
  assert.equal(hasValidSignature({ ...tx, sig: sigOf2 }), false);
  assert.equal(hasValidSignature({ ...tx, sig: undefined }), false, 'an unsigned transfer is never valid');
});

test('OpenSSL (node:crypto) signatures verify, high-S included', () => {
  const tx = makeTx(baseBody());
  const M = signedMessage(tx.raw);
  let high = 0;
  let low = 0;
  for (let i = 0; i < 200 && (high < 3 || low < 3); i++) {
    const sig = opensslSign(KEY_A, M);
    assert.ok(opensslVerify(PUB_A, M, sig));
    assert.ok(nobleVerify(PUB_A, M, sig), sig);
    assert.ok(hasValidSignature({ ...tx, sig }), sig);
    const parsed = txFromRaw(tx.raw, sig);
    assert.equal(parsed.id, tx.id);
    assert.ok(hasValidSignature(parsed));
    if (isLowS(sig)) low++;
    else high++;
  }
  assert.ok(high >= 3 && low >= 3, `saw ${high} high-S and ${low} low-S OpenSSL signatures`);
});

test('a high-S version of our own signature (s → n - s) verifies too, and keeps the txid', () => {
  const tx = signTx(baseBody(), KEY_A);
  const { r, s } = derParse(tx.sig!);
  const highS = derEncode(r, N - s);
  assert.notEqual(highS, tx.sig);
  assert.equal(isLowS(highS), false);
  assert.ok(opensslVerify(PUB_A, signedMessage(tx.raw), highS), 'OpenSSL accepts high-S');
  assert.ok(nobleVerify(PUB_A, signedMessage(tx.raw), highS));
  const t2 = txFromRaw(tx.raw, highS);
  assert.ok(hasValidSignature(t2));
  assert.equal(t2.id, tx.id);
  // and the 64-byte compact form of the high-S signature
  const compactHigh = hex32(r) + hex32(N - s);
  assert.ok(hasValidSignature(txFromRaw(tx.raw, compactHigh)));
});

test('64-byte compact r‖s signatures are accepted and convert to/from DER', () => {
  const tx = signTx(baseBody(), KEY_A);
  const { r, s } = derParse(tx.sig!);
  const compact = hex32(r) + hex32(s);
  assert.equal(Buffer.from(derToCompact(Buffer.from(tx.sig!, 'hex'))).toString('hex'), compact);
  assert.equal(Buffer.from(signatureToCompact(tx.sig!)).toString('hex'), compact);
  assert.equal(Buffer.from(signatureToCompact(compact)).toString('hex'), compact);
  assert.equal(Buffer.from(compactToDer(Buffer.from(compact, 'hex'))).toString('hex'), tx.sig);
  assert.equal(derEncode(r, s), tx.sig, 'our DER is the minimal DER an independent encoder makes');
  const t2 = txFromRaw(tx.raw, compact);
  assert.ok(hasValidSignature(t2));
  assert.equal(t2.id, tx.id);
  // compact → DER → compact for values needing padding and values with leading zero bytes
  const random = Array.from({ length: 200 }, (_, i) => [BigInt('0x' + sha256Hex(`r${i}`)) >> BigInt(i % 64 * 4), BigInt('0x' + sha256Hex(`s${i}`)) >> BigInt((i * 7) % 64 * 4)]);
  for (const [rr, ss] of [[1n, 1n], [0n, 0x100n], [2n ** 255n, N - 1n], [0x7fn, 0x80n], [2n ** 200n + 5n, 2n ** 247n], ...random]) {
    const c = Buffer.from(hex32(rr) + hex32(ss), 'hex');
    const d = Buffer.from(compactToDer(c)).toString('hex');
    assert.equal(d, derEncode(rr, ss));
    assert.deepEqual(Buffer.from(derToCompact(Buffer.from(d, 'hex'))), c);
  }
});

/** A set of signatures (of varied messages) with r ≥ 2^255, so that their DER r needs a 0x00 pad. */
function sigWithHighR(): { tx: Tx; r: bigint; s: bigint } {
  for (let t = 0; ; t++) {
    const b = baseBody();
    b.time += 1000 + t;
    const tx = signTx(b, KEY_A);
    const { r, s } = derParse(tx.sig!);
    if (r >= 2n ** 255n) return { tx, r, s };
  }
}

test('non-strict DER and malformed signatures are refused', () => {
  const { tx, r, s } = sigWithHighR();
  const good = tx.sig!;
  assert.ok(hasValidSignature(tx));
  const rHex = hex32(r);
  const sHex = s.toString(16).padStart(2 * Math.ceil(s.toString(16).length / 2), '0');
  const sPart = `02${(sHex.length / 2 + (parseInt(sHex.slice(0, 2), 16) & 0x80 ? 1 : 0)).toString(16).padStart(2, '0')}${parseInt(sHex.slice(0, 2), 16) & 0x80 ? '00' : ''}${sHex}`;
  const seq = (inner: string, lenDelta = 0): string => `30${(inner.length / 2 + lenDelta).toString(16).padStart(2, '0')}${inner}`;
  assert.equal(seq(`022100${rHex}${sPart}`), good, 'test construction reproduces the good signature');
  const bad: Record<string, string> = {
    'negative r (missing 0x00 pad)': seq(`0220${rHex}${sPart}`),
    'non-minimal r (extra 0x00)': seq(`02220000${rHex}${sPart}`),
    'non-minimal s (extra 0x00)': seq(`022100${rHex}02${(sHex.length / 2 + 1 + (parseInt(sHex.slice(0, 2), 16) & 0x80 ? 1 : 0)).toString(16).padStart(2, '0')}00${parseInt(sHex.slice(0, 2), 16) & 0x80 ? '00' : ''}${sHex}`),
    'BER long-form sequence length': `3081${(good.length / 2 - 2).toString(16).padStart(2, '0')}${good.slice(4)}`,
    'sequence length too long': seq(`022100${rHex}${sPart}`, 1),
    'sequence length too short': seq(`022100${rHex}${sPart}`, -1),
    'trailing byte inside the sequence': seq(`022100${rHex}${sPart}00`),
    'trailing byte after the sequence': good + '00',
    'SET instead of SEQUENCE': '31' + good.slice(2),
    'BIT STRING instead of INTEGER': seq(`032100${rHex}${sPart}`),
    'zero-length r': seq(`0200${sPart}`),
    'missing s': seq(`022100${rHex}`),
    'r too large (33 bytes, no pad)': seq(`022101${rHex}${sPart}`),
    '63 bytes': good.slice(0, 126),
    '65 bytes compact-like': hex32(r) + hex32(s) + '01',
    empty: '',
    'uppercase hex': good.toUpperCase(),
    'odd-length hex': good.slice(0, -1),
    'not hex': 'zz' + good.slice(2),
  };
  for (const [what, sig] of Object.entries(bad)) {
    assert.equal(nobleVerify(PUB_A, signedMessage(tx.raw), sig), false, what);
    assert.equal(hasValidSignature({ ...tx, sig }), false, what);
    assert.throws(() => signatureToCompact(sig), (e: unknown) => e instanceof ConsensusError && e.code === 'bad-signature', what);
  }
  // r = 0 or s = 0, r ≥ n are not valid signatures either
  for (const [rr, ss] of [[0n, s], [r, 0n], [N, s], [r, N], [r, s + 1n]]) {
    assert.equal(nobleVerify(PUB_A, signedMessage(tx.raw), hex32(rr % (2n ** 256n)) + hex32(ss % (2n ** 256n))), false);
  }
});

test('changing one byte anywhere in the signed message invalidates the signature', () => {
  const tx = signTx(baseBody(), KEY_A);
  const M = signedMessage(tx.raw);
  assert.ok(nobleVerify(PUB_A, M, tx.sig!));
  for (let i = 0; i < M.length; i++) {
    const m2 = Uint8Array.from(M);
    m2[i] ^= 0x01;
    assert.equal(nobleVerify(PUB_A, m2, tx.sig!), false, `byte ${i}`);
  }
  // a byte appended or removed
  assert.equal(nobleVerify(PUB_A, Uint8Array.from([...M, 0x20]), tx.sig!), false);
  assert.equal(nobleVerify(PUB_A, M.subarray(0, M.length - 1), tx.sig!), false);
});

function mutateChar(c: string): string {
  if (/[0-9]/.test(c)) return String((Number(c) + 1) % 10);
  if (/[a-f]/.test(c)) return 'abcdef'['abcdef'.indexOf(c) === 5 ? 0 : 'abcdef'.indexOf(c) + 1];
  if (/[g-y]/.test(c)) return String.fromCharCode(c.charCodeAt(0) + 1);
  if (c === 'z') return 'a';
  if (/[A-Y]/.test(c)) return String.fromCharCode(c.charCodeAt(0) + 1);
  if (c === 'Z') return 'A';
  if (c === ' ') return '_';
  return c === '0' ? '1' : ' ';
}

test('changing one character at every position of the canonical body text is rejected', () => {
  const tx = signTx(baseBody(), KEY_A);
  let parsed = 0;
  let refusedByParse = 0;
  for (let i = 0; i < tx.raw.length; i++) {
    const raw2 = tx.raw.slice(0, i) + mutateChar(tx.raw[i]) + tx.raw.slice(i + 1);
    assert.notEqual(raw2, tx.raw);
    let t2: Tx;
    try {
      t2 = txFromRaw(raw2, tx.sig);
    } catch (e) {
      assert.ok(e instanceof ConsensusError, `position ${i}: ${String(e)}`);
      refusedByParse++;
      continue;
    }
    parsed++;
    assert.notEqual(t2.id, tx.id, `position ${i}`);
    assert.equal(hasValidSignature(t2), false, `position ${i} (${tx.raw[i]} → ${raw2[i]}) still verifies`);
  }
  assert.equal(parsed + refusedByParse, tx.raw.length);
  // Most positions (hex of chain/txids/key, digits, letters of SQL and addresses) parse and must fail on the signature.
  assert.ok(parsed > tx.raw.length / 2, `only ${parsed} of ${tx.raw.length} mutations parsed`);
});

test('semantic changes of every field, re-encoded canonically, break the signature', () => {
  const tx = signTx(baseBody(), KEY_A);
  const changes: Record<string, (b: TransferBody) => void> = {
    'amount +1 unit': (b) => { b.out[0].amount = '150000001'; },
    'change amount': (b) => { b.out[1].amount = '49990001'; },
    'burn amount': (b) => { b.out[2].amount = '0'; },
    'to → another address': (b) => { b.out[0].to = ADDR_C; },
    'to → burn': (b) => { b.out[0].to = null; },
    'burn → address': (b) => { b.out[2].to = ADDR_B; },
    'outputs swapped': (b) => { b.out = [b.out[1], b.out[0], b.out[2]]; },
    'output removed': (b) => { b.out.pop(); },
    'from → another key': (b) => { b.from = PUB_B; },
    'chain': (b) => { b.chain = sha256Hex('another chain'); },
    'time +1 ms': (b) => { b.time += 1; },
    'time -1 ms': (b) => { b.time -= 1; },
    'input txid': (b) => { b.in[0].tx = sha256Hex('funding 3'); },
    'input index': (b) => { b.in[1].n = 4; },
    'inputs swapped': (b) => { b.in = [b.in[1], b.in[0]]; },
    'input removed': (b) => { b.in.pop(); },
    'sql stmt text': (b) => { b.sql!.stmts[0] = b.sql!.stmts[0].replace('Ann', 'Bob'); },
    'sql stmt added': (b) => { b.sql!.stmts.push('DELETE FROM `members` WHERE `id`=2'); },
    'sql undo': (b) => { b.sql!.undo = ['DELETE FROM `members` WHERE `id`=2']; },
    'sql ref': (b) => { b.sql!.refs = ['members:2']; b.sql!.base = { 'members:2': null }; },
    'sql base': (b) => { b.sql!.base = { 'members:1': FUND1 }; },
    'sql removed': (b) => { delete b.sql; },
  };
  for (const [what, change] of Object.entries(changes)) {
    const b = baseBody();
    change(b);
    const t2 = txFromRaw(canonicalize(b), tx.sig);
    assert.notEqual(t2.id, tx.id, what);
    assert.equal(hasValidSignature(t2), false, what);
    assert.equal(hasValidSignature(t2, opensslVerifier), false, what);
    // and signing the changed body properly works (when the key matches)
    if (b.from === PUB_A) assert.ok(hasValidSignature(signTx(b, KEY_A)), what);
  }
});

test('txid does not depend on the signature or its encoding', () => {
  const tx = signTx(baseBody(), KEY_A);
  const { r, s } = derParse(tx.sig!);
  const expected = sha256Hex(Buffer.from(SIGNED_TX_PREFIX + tx.raw, 'utf8'));
  assert.equal(tx.id, expected);
  assert.equal(makeTx(baseBody()).id, expected, 'unsigned');
  for (const sig of [tx.sig!, hex32(r) + hex32(s), derEncode(r, N - s), hex32(r) + hex32(N - s), opensslSign(KEY_A, signedMessage(tx.raw)), 'abcd']) {
    assert.equal(txFromRaw(tx.raw, sig).id, expected, sig);
  }
});

test('prepareTx gives consistent transaction / stringToSign / txid / text, and txFromPrepared round-trips', () => {
  const p = prepareTx(baseBody());
  const raw = canon(baseBody());
  assert.equal(p.transaction, Buffer.from(raw, 'utf8').toString('hex'));
  assert.equal(p.stringToSign, Buffer.from(SIGNED_TX_PREFIX + raw, 'utf8').toString('hex'));
  assert.equal(p.text, SIGNED_TX_PREFIX + raw);
  assert.equal(Buffer.from(p.stringToSign, 'hex').toString('utf8'), p.text);
  assert.equal(p.txid, sha256Hex(Buffer.from(p.stringToSign, 'hex')));
  assert.ok(p.text.startsWith('OurSQL signed transaction v1\n{"chain":"'));

  const sig = signStringToSign(p.stringToSign, KEY_A);
  assert.equal(sig, signTx(baseBody(), KEY_A).sig, 'signing StringToSign = signing the body');
  const tx = txFromPrepared(p.transaction, sig);
  assert.equal(tx.id, p.txid);
  assert.equal(tx.raw, raw);
  assert.deepEqual(tx.body, baseBody());
  assert.ok(hasValidSignature(tx));
  // uppercase signature hex from a client is accepted (lowercased)
  assert.ok(hasValidSignature(txFromPrepared(p.transaction, sig.toUpperCase())));
  // a third-party OpenSSL signer that only sees StringToSign
  const ext = opensslSign(KEY_A, Buffer.from(p.stringToSign, 'hex'));
  const t3 = txFromPrepared(p.transaction, ext);
  assert.ok(hasValidSignature(t3));
  assert.equal(t3.id, p.txid);
  // wire round trip
  const wire = JSON.parse(JSON.stringify(txToWire(t3)));
  const t4 = txFromWire(wire);
  assert.equal(t4.id, p.txid);
  assert.equal(t4.sig, ext);
  assert.ok(hasValidSignature(t4));
  // without sql too
  const b = baseBody();
  delete b.sql;
  const pb = prepareTx(b);
  assert.ok(!pb.text.includes('"sql"'), 'absent optional fields are omitted, never null');
  assert.ok(hasValidSignature(txFromPrepared(pb.transaction, signStringToSign(pb.stringToSign, KEY_A))));
});

test('a tx from the wire is the tx its canonical text gives, whatever the strings hold', () => {
  // txFromWire trusts canonicalize's output to be canonical and does not re-check it: prove on
  // awkward text (escapes, line separators, lone surrogates, astral chars) that it agrees with txFromRaw.
  for (const odd of ['tab\there', 'line\u2028sep', 'emoji 😀', 'quote " and \\ slash', 'nul \u0000 byte', 'é ü ñ']) {
    const b = baseBody();
    b.sql!.stmts = [`INSERT INTO \`members\` (\`id\`,\`name\`) VALUES (1,'${odd}')`];
    const signed = signTx(b, KEY_A);
    const fromWire = txFromWire(JSON.parse(JSON.stringify(txToWire(signed))));
    const fromRaw = txFromRaw(fromWire.raw, fromWire.sig);
    assert.equal(fromWire.raw, signed.raw, odd);
    assert.equal(fromWire.id, fromRaw.id, odd);
    assert.deepEqual(fromWire.body, fromRaw.body, odd);
    assert.ok(hasValidSignature(fromWire), odd);
  }
  // text JCS cannot encode is refused as the peer's bad encoding, not as a crash
  const wire = JSON.parse(JSON.stringify(txToWire(signTx(baseBody(), KEY_A))));
  wire.body.sql.stmts = ["INSERT INTO `members` (`id`,`name`) VALUES (1,'lone \ud800 surrogate')"];
  throwsCode(() => txFromWire(wire), 'bad-encoding');
});

test('non-canonical body text is refused with bad-encoding', () => {
  const tx = signTx(baseBody(), KEY_A);
  const raw = tx.raw;
  const variants: Record<string, string> = {
    'space after colon': raw.replace('"v":1', '"v": 1'),
    'space after comma': raw.replace(',"v":1', ', "v":1'),
    'leading space': ' ' + raw,
    'trailing newline': raw + '\n',
    'pretty-printed': JSON.stringify(JSON.parse(raw), null, 2),
    'unsorted keys': JSON.stringify(baseBody()),
    'escaped ASCII in a string': raw.replace('"members:1"', '"members\\u003a1"'),
    'escaped slash': raw.replace('INSERT INTO', 'INSERT\\/INTO'),
    'number with exponent': raw.replace('"time":1700000000123', '"time":1.700000000123e12'),
    'number with fraction': raw.replace('"v":1', '"v":1.0'),
    'duplicate key': raw.replace('"v":1}', '"v":1,"v":1}'),
    'BOM': '\ufeff' + raw,
    'not JSON': raw.slice(0, -1),
  };
  for (const [what, text] of Object.entries(variants)) {
    assert.notEqual(text, raw, what);
    throwsCode(() => txFromRaw(text, tx.sig), 'bad-encoding', undefined, what);
    throwsCode(() => txFromPrepared(Buffer.from(text, 'utf8').toString('hex'), tx.sig!), 'bad-encoding', undefined, what);
  }
  throwsCode(() => txFromPrepared('zz', tx.sig!), 'bad-encoding');
  throwsCode(() => txFromPrepared('abc', tx.sig!), 'bad-encoding');
  throwsCode(() => txFromPrepared('ff' + Buffer.from(raw).toString('hex'), tx.sig!), 'bad-encoding', 'UTF-8');
  throwsCode(() => txFromPrepared(Buffer.from(raw).toString('hex').toUpperCase(), tx.sig!), 'bad-encoding');
});

test('signature presence rules: transfers must be signed, coinbases must not', () => {
  const tx = signTx(baseBody(), KEY_A);
  throwsCode(() => txFromRaw(tx.raw), 'bad-signature');
  throwsCode(() => txFromRaw(tx.raw, 'XYZ'), 'bad-signature');
  const cb = makeTx({ v: 1, chain: CHAIN, coinbase: 5, out: [{ to: ADDR_A, amount: '1000000000' }] });
  assert.equal(cb.sig, undefined);
  assert.ok(hasValidSignature(cb));
  assert.equal(hasValidSignature({ ...cb, sig: tx.sig }), false);
  throwsCode(() => txFromRaw(cb.raw, tx.sig), 'bad-encoding');
  assert.equal(txFromRaw(cb.raw).id, sha256Hex(SIGNED_TX_PREFIX + cb.raw));
  assert.deepEqual(txToWire(cb), { body: cb.body });
  throwsCode(() => txFromWire({ body: cb.body, sig: 5 }), 'bad-signature');
  throwsCode(() => txFromWire({ body: cb.body, extra: 1 }), 'bad-encoding');
  throwsCode(() => txFromWire([cb.body]), 'bad-encoding');
});

test('malformed bodies are refused', () => {
  const cases: Record<string, [(b: Record<string, any>) => void, string]> = {
    'v 2': [(b) => { b.v = 2; }, 'bad-encoding'],
    'chain short': [(b) => { b.chain = 'ab'; }, 'bad-encoding'],
    'chain uppercase': [(b) => { b.chain = b.chain.toUpperCase(); }, 'bad-encoding'],
    'time negative': [(b) => { b.time = -1; }, 'bad-encoding'],
    'time fractional': [(b) => { b.time = 1.5; }, 'bad-encoding'],
    'time string': [(b) => { b.time = '1700000000123'; }, 'bad-encoding'],
    'from uncompressed': [(b) => { b.from = '04' + 'ab'.repeat(64); }, 'bad-encoding'],
    'from off-curve': [(b) => { b.from = '02' + '00'.repeat(31) + '05'; }, 'bad-encoding'],
    'from missing': [(b) => { delete b.from; }, 'bad-encoding'],
    'input without n': [(b) => { delete b.in[0].n; }, 'bad-encoding'],
    'input extra key': [(b) => { b.in[0].x = 1; }, 'bad-encoding'],
    'input tx not hex': [(b) => { b.in[0].tx = 'x'.repeat(64); }, 'bad-encoding'],
    'no inputs and no sql': [(b) => { b.in = []; delete b.sql; }, 'bad-encoding'],
    'output to bad address': [(b) => { b.out[0].to = '1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMh'; }, 'bad-encoding'],
    'output without to': [(b) => { delete b.out[0].to; }, 'bad-encoding'],
    'output amount number': [(b) => { b.out[0].amount = 150000000; }, 'bad-amount'],
    'output amount leading zero': [(b) => { b.out[0].amount = '0150000000'; }, 'bad-amount'],
    'output amount coins': [(b) => { b.out[0].amount = '1.5'; }, 'bad-amount'],
    'output amount negative': [(b) => { b.out[0].amount = '-1'; }, 'bad-amount'],
    'extra top-level key': [(b) => { b.memo = 'hi'; }, 'bad-encoding'],
    'coinbase key on a transfer': [(b) => { b.coinbase = 1; }, 'bad-encoding'],
    'sql null': [(b) => { b.sql = null; }, 'bad-encoding'],
    'sql stmts empty': [(b) => { b.sql.stmts = []; }, 'bad-encoding'],
    'sql stmt not a string': [(b) => { b.sql.stmts = [1]; }, 'bad-encoding'],
    'sql base missing a ref': [(b) => { b.sql.base = {}; }, 'bad-encoding'],
    'sql base with an extra ref': [(b) => { b.sql.base = { 'members:1': null, 'members:2': null }; }, 'bad-encoding'],
    'sql base names a prototype key': [(b) => { b.sql.refs = ['toString']; b.sql.base = { x: null }; }, 'bad-encoding'],
    'sql base not a txid': [(b) => { b.sql.base = { 'members:1': 'abc' }; }, 'bad-encoding'],
    'sql refs duplicated': [(b) => { b.sql.refs = ['members:1', 'members:1']; }, 'bad-encoding'],
    'sql extra key': [(b) => { b.sql.extra = []; }, 'bad-encoding'],
    'body is a list': [(b) => { b.__list = true; }, 'bad-encoding'],
  };
  for (const [what, [change, code]] of Object.entries(cases)) {
    const b = baseBody() as unknown as Record<string, any>;
    change(b);
    const body = b.__list ? [baseBody()] : b;
    throwsCode(() => makeTx(body as TransferBody), code as 'bad-encoding', undefined, what);
    throwsCode(() => txFromRaw(canonicalize(body), 'aa'), code as 'bad-encoding', undefined, what);
    throwsCode(() => prepareTx(body as TransferBody), code as 'bad-encoding', undefined, what);
  }
  // A burn-only transfer and an SQL-only transaction (no inputs) are well-formed.
  const burn = baseBody();
  delete burn.sql;
  burn.out = [{ to: null, amount: '200000000' }];
  assert.ok(hasValidSignature(signTx(burn, KEY_A)));
  const sqlOnly = baseBody();
  sqlOnly.in = [];
  sqlOnly.out = [];
  assert.ok(hasValidSignature(signTx(sqlOnly, KEY_A)));
});
