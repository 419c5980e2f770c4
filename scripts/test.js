#!/usr/bin/env node
// Runs every *.test.ts below the given folders (default: test/) with node's test runner and tsx.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const passthrough = process.argv.slice(2).filter((a) => a.startsWith('--'));
const files = [];
const walk = (p) => {
  if (statSync(p).isFile()) return p.endsWith('.test.ts') && files.push(p);
  for (const e of readdirSync(p).sort()) if (e !== 'node_modules') walk(join(p, e));
};
for (const r of roots.length ? roots : ['test']) walk(r);
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=300000', ...passthrough, ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
