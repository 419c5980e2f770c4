import { fail } from './errors.ts';

/** 1 coin = 10^8 base units. Amounts are bigint units in code, decimal strings in JSON. */
export const UNITS_PER_COIN = 100_000_000n;
export const COIN_DECIMALS = 8;
/** No amount may exceed this (keeps sums far inside MySQL DECIMAL(30) and JS-safe printing). */
export const MAX_UNITS = 10n ** 24n;

const UNITS_RE = /^(0|[1-9][0-9]*)$/;
const COINS_RE = /^(0|[1-9][0-9]*)(?:\.([0-9]{1,8}))?$/;

/** Parses a units string as carried in JSON ("150000000"). */
export function parseUnits(s: unknown, what = 'amount'): bigint {
  if (typeof s !== 'string' || !UNITS_RE.test(s)) fail('bad-amount', `${what} must be a decimal string of base units`);
  const v = BigInt(s);
  if (v > MAX_UNITS) fail('bad-amount', `${what} is too large`);
  return v;
}

/** Parses coins as a person types them ("1.5", up to 8 decimals), exactly. */
export function coinsToUnits(coins: string | number, what = 'amount'): bigint {
  const text = typeof coins === 'number' ? numberToDecimal(coins) : coins.trim();
  const m = COINS_RE.exec(text);
  if (!m) fail('bad-amount', `${what} must be a non-negative number of coins with at most 8 decimals, got "${coins}"`);
  const units = BigInt(m[1]) * UNITS_PER_COIN + BigInt((m[2] ?? '').padEnd(COIN_DECIMALS, '0'));
  if (units > MAX_UNITS) fail('bad-amount', `${what} is too large`);
  return units;
}

/** Units → coins text with no trailing zeros ("1.5", "10", "0.00000001"). */
export function unitsToCoins(units: bigint): string {
  const neg = units < 0n;
  const abs = neg ? -units : units;
  const whole = abs / UNITS_PER_COIN;
  const frac = (abs % UNITS_PER_COIN).toString().padStart(COIN_DECIMALS, '0').replace(/0+$/, '');
  return (neg ? '-' : '') + whole.toString() + (frac ? '.' + frac : '');
}

/**
 * A JSON number from a config file → its shortest decimal text. JS prints the shortest string that
 * round-trips, which is the literal the author wrote for any value with ≤ 15 significant digits,
 * so 0.05 converts to exactly 5,000,000 units, never 4,999,999.
 */
function numberToDecimal(n: number): string {
  if (!Number.isFinite(n) || n < 0) fail('bad-amount', `amount must be a non-negative finite number, got ${n}`);
  const s = String(n);
  const e = /^(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!e) return s;
  const digits = e[1] + (e[2] ?? '');
  const point = e[1].length + Number(e[3]);
  if (point <= 0) return '0.' + '0'.repeat(-point) + digits;
  if (point >= digits.length) return digits + '0'.repeat(point - digits.length);
  return digits.slice(0, point) + '.' + digits.slice(point);
}
