/** Where oursql-remote keeps its files: `~/.oursql-remote`, or `--dir` / `OURSQL_REMOTE_DIR`. */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function resolveDir(flag?: string): string {
  return resolve(flag ?? process.env.OURSQL_REMOTE_DIR ?? join(homedir(), '.oursql-remote'));
}

export function remotePaths(dir: string) {
  return {
    dir,
    /** Node URL and the chain this client is pinned to. */
    settings: join(dir, 'config.json'),
    /** Encrypted private keys (scrypt + AES-256-GCM). */
    keystore: join(dir, 'keystore.json'),
  };
}
