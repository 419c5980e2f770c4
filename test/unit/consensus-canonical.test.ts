import assert from 'node:assert/strict';
import test from 'node:test';
import canonicalizeJcs from 'canonicalize';
import { canonicalize, inCanonicalOrder, inJcsOrder, parseCanonical } from '../../consensus/canonical.ts';
import { ConsensusError } from '../../consensus/errors.ts';

/** A small deterministic PRNG, so a failure can be replayed from its seed. */
function prng(seed: number) {
  return () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
}

const STRINGS = ['', 'a', 'b', 'B', '10', '9', '1', '0', '01', '-1', '4294967295', '4294967294', 'é', 'e\u0301', '\u20ac', '\ud83d\ude00', '\ufb33', 'a"b', 'back\\slash', 'nl\n', 'tab\t', '\u0000', '\u001f', '\u007f', '\u2028', '\ud800', 'x\udc00y', 'key with spaces'];
const NUMBERS = [0, -0, 1, -1, 0.1, 1e21, 1e-7, 123456789012345680000, 5e-324, 1.7976931348623157e308, 2 ** 53, 2 ** 53 + 2, 333333333.3333333, NaN, Infinity, -Infinity];

function value(rnd: () => number, depth: number): unknown {
  const r = rnd();
  if (depth > 3 || r < 0.45) {
    const k = Math.floor(rnd() * 6);
    if (k === 0) return NUMBERS[Math.floor(rnd() * NUMBERS.length)];
    if (k === 1) return STRINGS[Math.floor(rnd() * STRINGS.length)];
    if (k === 2) return rnd() < 0.5;
    if (k === 3) return null;
    if (k === 4) return rnd() < 0.02 ? undefined : Math.floor(rnd() * 1e6);
    return STRINGS[Math.floor(rnd() * STRINGS.length)] + String(Math.floor(rnd() * 100));
  }
  if (r < 0.7) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(rnd, depth + 1));
  const o: Record<string, unknown> = {};
  for (let n = Math.floor(rnd() * 6); n > 0; n--) o[STRINGS[Math.floor(rnd() * STRINGS.length)]] = value(rnd, depth + 1);
  return o;
}

/** What the library gives, or the error kind ours must give instead. */
function reference(v: unknown): string | 'throws' {
  try {
    return canonicalizeJcs(v) ?? 'throws';
  } catch {
    return 'throws';
  }
}

function ours(v: unknown): string | 'throws' {
  try {
    return canonicalize(v);
  } catch (e) {
    assert.ok(e instanceof ConsensusError, String(e));
    return 'throws';
  }
}

test('canonicalize writes exactly what the JCS library writes, for built and for parsed values', () => {
  const rnd = prng(20261206);
  let fast = 0;
  for (let i = 0; i < 5000; i++) {
    const v = value(rnd, 0);
    const want = reference(v);
    assert.equal(ours(v), want, JSON.stringify(v));
    if (want === 'throws') continue;
    // parsed back from its canonical text: keys arrive in order, so the fast path takes it
    const parsed = JSON.parse(want);
    assert.equal(ours(parsed), want);
    if (inJcsOrder(parsed, 0)) fast++;
  }
  assert.ok(fast > 2500, `fast path taken ${fast} times`);
});

test('the fast path leaves to the library what JSON.stringify would write differently', () => {
  const cases: [unknown, string | 'throws'][] = [
    [{ b: 1, a: 2 }, '{"a":2,"b":1}'], // keys out of order
    [JSON.parse('{"10":1,"9":2}'), '{"10":1,"9":2}'], // V8 puts integer keys first: Object.keys gives 9, 10
    [{ a: NaN }, 'throws'],
    [[Infinity], 'throws'],
    [{ a: '\ud800' }, 'throws'], // JSON.stringify would escape a lone surrogate; JCS refuses it
    [{ '\udc00': 1 }, 'throws'],
    [{ a: undefined, b: 1 }, '{"b":1}'],
    [[undefined, 1], '[null,1]'],
    [[1, , 2], '[1,null,2]'],
    [{ a: new Date(0) }, '{"a":"1970-01-01T00:00:00.000Z"}'],
    [{ a: { toJSON: () => 'x' } }, '{"a":"x"}'],
    [Object.assign(Object.create({ inherited: 1 }), { own: 2 }), '{"own":2}'],
    [{ a: -0, b: 1e21, c: 1e-7 }, '{"a":0,"b":1e+21,"c":1e-7}'],
    [{ '\u20ac': 1, '\ud83d\ude00': 2, '\ufb33': 3 }, '{"\u20ac":1,"\ud83d\ude00":2,"\ufb33":3}'], // UTF-16 order, as RFC 8785 3.2.3
  ];
  for (const [v, want] of cases) {
    assert.equal(reference(v), want, `library on ${String(JSON.stringify(v))}`);
    assert.equal(ours(v), want, `ours on ${String(JSON.stringify(v))}`);
  }
  let deep: unknown = 1;
  for (let i = 0; i < 100; i++) deep = [deep];
  assert.equal(inJcsOrder(deep, 0), false);
  assert.equal(canonicalize(deep), JSON.stringify(deep));
});

test('parseCanonical still refuses JSON that is not in canonical form', () => {
  assert.deepEqual(parseCanonical('{"a":1,"b":[1,2]}'), { a: 1, b: [1, 2] });
  for (const text of ['{"b":1,"a":2}', '{"a":1.0}', '{"a":"\\u0041"}', '{ "a":1}', '{"a":1e3}', '{"9":1,"10":2}']) {
    assert.throws(() => parseCanonical(text), ConsensusError, text);
  }
});

test('inCanonicalOrder copies plain data with its keys in JCS order, so canonicalize takes the fast path', () => {
  const made = { v: 1, chain: 'c', time: 5, from: 'f', in: [{ tx: 't', n: 0 }], out: [{ to: 'a', amount: '1' }], sql: { stmts: ['s'], undo: ['u'], refs: ['t:2', 't:10'], base: { 't:2': null, 't:10': 'x' } } };
  assert.equal(inJcsOrder(made, 0), false);
  const ordered = inCanonicalOrder(made);
  assert.deepEqual(ordered, made);
  assert.deepEqual(Object.keys(ordered), ['chain', 'from', 'in', 'out', 'sql', 'time', 'v']);
  assert.deepEqual(Object.keys(ordered.sql.base), ['t:10', 't:2']);
  assert.equal(inJcsOrder(ordered, 0), true);
  assert.equal(canonicalize(ordered), canonicalizeJcs(made));
  // a key V8 keeps first whatever its place ('10' before '9' in JCS): still right, by the library
  const odd = inCanonicalOrder({ '9': 1, '10': 2 });
  assert.equal(inJcsOrder(odd, 0), false);
  assert.equal(canonicalize(odd), '{"10":2,"9":1}');
});
