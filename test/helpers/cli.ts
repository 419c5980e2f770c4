// Runs the real `oursql` binary as a user would.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const BIN = join(import.meta.dirname, '../../bin/oursql.js');

export interface Run { code: number | null; stdout: string; stderr: string }

export function oursql(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return runBin(BIN, args, env);
}

/** Runs a node script (one of bin/) with its output collected. */
export function runBin(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export async function pidOf(datadir: string): Promise<number | undefined> {
  try {
    return Number((await readFile(join(datadir, 'oursql.pid'), 'utf8')).split('\n')[0]);
  } catch {
    return undefined;
  }
}
