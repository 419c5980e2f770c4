// `oursql peers list` lines: state, source, score, and a data divergence when a peer's state digest differed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { peerLine } from '../../server/cli/commands/peers.ts';

const base = { addr: '10.0.0.5:8765', source: 'config', connected: true, height: 200, score: 0, lastSeen: 1, diverged: null };

test('a peer line says state, source and score', () => {
  assert.equal(peerLine(base), '10.0.0.5:8765  connected, height 200  (config)');
  assert.equal(peerLine({ ...base, connected: false, height: null, source: 'added', score: 40 }), '10.0.0.5:8765  not connected  (added, score 40)');
});

test('a peer whose data diverged says at which block', () => {
  const block = 'ab'.repeat(32);
  assert.equal(peerLine({ ...base, diverged: { height: 187, block } }), `10.0.0.5:8765  connected, height 200  (config)  DATA DIVERGED at block 187 (${block})`);
});
