/** Where the node's MySQL is: parsed from `mysql://user:pass@host:port/db` (SPEC 0). */
export interface MysqlTarget {
  host?: string;
  port?: number;
  /**
   * The node's own connections go through this Unix socket (`?socket=`, or the private server).
   * Client logins the proxy relays never do while `host` is set: over a socket MariaDB's
   * unix_socket plugin may log a client in as the node's OS user without its password.
   */
  socketPath?: string;
  user: string;
  password?: string;
  /** Application database; the chain lives in `<database>_chain`. */
  database: string;
}

export const DEFAULT_MYSQL_URL = 'mysql://root@127.0.0.1:3306/oursql';

export class MysqlUrlError extends Error {
  override name = 'MysqlUrlError';
}

const DB_NAME = /^[A-Za-z0-9_$]{1,58}$/;

export function parseMysqlUrl(text: string): MysqlTarget {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new MysqlUrlError(`--mysql must look like mysql://user:pass@host:port/db, got "${text}"`);
  }
  if (u.protocol !== 'mysql:') throw new MysqlUrlError(`--mysql must start with mysql://, got "${text}"`);
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'oursql';
  // The chain database appends "_chain", so the name must leave room within MySQL's 64 characters.
  if (!DB_NAME.test(database)) throw new MysqlUrlError(`database name "${database}" must be 1-58 characters of letters, digits, _ or $`);
  const socket = u.searchParams.get('socket');
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 3306),
    socketPath: socket ?? undefined,
    user: decodeURIComponent(u.username) || 'root',
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database,
  };
}

export function chainDatabase(t: MysqlTarget): string {
  return `${t.database}_chain`;
}
