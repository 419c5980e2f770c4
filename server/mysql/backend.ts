/**
 * Picks the node's MySQL backend: the server named by `--mysql` when it answers, otherwise a
 * private MariaDB under `<datadir>/mysql` (the embedded default, see managed.ts), so a fresh
 * machine with only mariadb-server installed runs a node without any MySQL setup.
 */
import { join } from 'node:path';
import { ManagedMariaDB, pingMysql } from './managed.ts';
import { parseMysqlUrl, type MysqlTarget } from './url.ts';
import { MysqlBackendError } from './errors.ts';

export { pingMysql };

export { MysqlBackendError };

export interface ResolveBackendOptions {
  datadir: string;
  /** Fall back to a private MariaDB when the configured server does not answer (default true). */
  allowManaged?: boolean;
  log?: (msg: string) => void;
  /** Server binary for the fallback; default: look it up. null means "none installed" (tests). */
  binary?: string | null;
  /** How long to wait for the configured server (default 2000 ms). */
  pingTimeoutMs?: number;
}

export async function resolveBackend(
  url: string,
  opts: ResolveBackendOptions,
): Promise<{ target: MysqlTarget; managed?: ManagedMariaDB }> {
  const target = parseMysqlUrl(url);
  const where = target.socketPath ?? `${target.host}:${target.port}`;
  const ping = await pingMysql(target, opts.pingTimeoutMs ?? 2000);
  if (ping === 'ok') return { target };
  if (ping !== 'down') {
    // A server is there but said no (wrong user/password, host not allowed...). Starting our own
    // would silently put the chain somewhere the operator did not ask for, so stop here.
    throw new MysqlBackendError(`MySQL at ${where} refused the connection as ${target.user}: ${ping.error} (fix the user/password in --mysql)`);
  }
  if (opts.allowManaged === false) {
    throw new MysqlBackendError(`MySQL at ${where} does not answer (is it running? set --mysql to the right server)`);
  }
  const binary = opts.binary === undefined ? ManagedMariaDB.findBinary() : opts.binary;
  if (!binary) {
    throw new MysqlBackendError(
      `MySQL at ${where} does not answer and mariadbd is not installed, so no private MariaDB can be started: ` +
        `install it (apt-get install mariadb-server) or point --mysql at a running server`,
    );
  }
  opts.log?.(`MySQL at ${where} does not answer; using a private MariaDB under ${join(opts.datadir, 'mysql')}`);
  const managed = new ManagedMariaDB({ dir: join(opts.datadir, 'mysql'), binary, log: opts.log });
  const { socketPath } = await managed.start();
  // The URL's user/password belong to the server that is not there; the private one has root
  // without a password, reachable only through its socket.
  return { target: { socketPath, user: 'root', database: target.database }, managed };
}
