// A temp datadir with a cheap consensus (8-bit proof of work: mining is instant) on its own test
// databases, for tests that run a whole node or the CLI.
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testDatabase } from './mysql.ts';

export const FAST_CONSENSUS = { CoinsForBlockMade: 10, Settings: { Complexity: 8, ComplexityStep2: 8 } };

export async function tempNodeDir(tag: string) {
  const tmp = await realpath(await mkdtemp(join(tmpdir(), `oursql-${tag}-`)));
  const consensusFile = join(tmp, 'consensus.json');
  await writeFile(consensusFile, JSON.stringify(FAST_CONSENSUS));
  const db = testDatabase(tag);
  return {
    tmp,
    datadir: join(tmp, 'node'),
    consensusFile,
    db,
    async cleanup(): Promise<void> {
      await db.drop();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

/** A port on 127.0.0.1 where nothing listens right now. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** An address with the same length as `address` but one character changed (bad checksum). */
export function corruptAddress(address: string): string {
  const i = address.length - 3;
  const c = address[i] === 'a' ? 'b' : 'a';
  return address.slice(0, i) + c + address.slice(i + 1);
}
