/**
 * A private MariaDB server owned by one node: the embedded default when the configured MySQL
 * does not answer (see backend.ts). Everything lives under one directory, normally
 * `<datadir>/mysql`:
 *
 *   data/          the server's datadir (created with mariadb-install-db on first use)
 *   mysqld.sock    unix socket; the server has --skip-networking, so this is the only way in.
 *                  A unix socket path is limited to 107 bytes, so for a deep `dir` the socket
 *                  goes to `<os.tmpdir()>/oursql-<sha256(dir)[0..16]>.sock` instead (stable for
 *                  a given dir, so a later run finds the same server).
 *   mysqld.pid     pid file written by the server; how stop() and a later run find it
 *   mariadb.err    the server's error log; quoted in errors when startup fails
 *
 * The instance holds no global state, so several can run in one process (one per dir).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants as fsConstants, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import mysql from 'mysql2/promise';
import type { MysqlTarget } from './url.ts';

/** sun_path is 108 bytes on Linux including the terminating NUL. */
const MAX_SOCKET_PATH = 107;
const SERVER_NAMES = ['mariadbd', 'mysqld'];
const INSTALL_DB_NAMES = ['mariadb-install-db', 'mysql_install_db'];
/** The server binaries live in sbin on Debian/RHEL, but not always on a non-root PATH. */
const SYSTEM_DIRS = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];

export interface ManagedMariaDBOptions {
  /** Directory owned by this server, e.g. `<datadir>/mysql`. */
  dir: string;
  log?: (msg: string) => void;
  /** Server binary; default: ManagedMariaDB.findBinary(). */
  binary?: string;
  /** How long start() waits for the socket to answer, and stop() for the process to exit. */
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
}

export class ManagedMariaDB {
  readonly dir: string;
  readonly dataDir: string;
  /**
   * Its own temporary files' folder: at start MariaDB deletes every `#sql*` file in its tmpdir,
   * which in the shared /tmp are the temporary tables of any other MySQL server on the machine.
   */
  readonly tmpDir: string;
  readonly socketPath: string;
  readonly pidFile: string;
  readonly errorLog: string;
  private readonly log: (msg: string) => void;
  private readonly binaryOpt?: string;
  private readonly startTimeoutMs: number;
  private readonly stopTimeoutMs: number;
  /** Set while start() runs so concurrent calls share one startup. */
  private starting?: Promise<{ socketPath: string }>;
  /** The server we spawned in this process (undefined when reusing one from an earlier run). */
  private child?: ChildProcess;

  /** First mariadbd/mysqld found in the usual system dirs, then PATH; null when none is installed. */
  static findBinary(): string | null {
    return findExecutable(SERVER_NAMES, SYSTEM_DIRS);
  }

  constructor(opts: ManagedMariaDBOptions) {
    // Absolute, because mariadbd chdirs into its datadir and would misread relative paths.
    this.dir = resolve(opts.dir);
    this.dataDir = join(this.dir, 'data');
    this.tmpDir = join(this.dir, 'tmp');
    this.pidFile = join(this.dir, 'mysqld.pid');
    this.errorLog = join(this.dir, 'mariadb.err');
    this.socketPath = socketPathFor(this.dir);
    this.log = opts.log ?? (() => {});
    this.binaryOpt = opts.binary;
    this.startTimeoutMs = opts.startTimeoutMs ?? 60_000;
    this.stopTimeoutMs = opts.stopTimeoutMs ?? 60_000;
  }

  /** Starts the server (or adopts one still running from an earlier run of this dir). */
  start(): Promise<{ socketPath: string }> {
    this.starting ??= this.doStart().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /** True while the server process of this dir is alive (it may still be starting up). */
  async isRunning(): Promise<boolean> {
    return (await this.livePid()) !== null;
  }

  /** Graceful shutdown: SIGTERM, wait for the process to exit, SIGKILL after stopTimeoutMs. Idempotent. */
  async stop(): Promise<void> {
    await this.starting?.catch(() => {});
    const pid = await this.livePid();
    if (pid === null) return;
    this.log(`stopping private MariaDB (pid ${pid})`);
    signal(pid, 'SIGTERM');
    if (!(await waitFor(() => processGone(pid), this.stopTimeoutMs))) {
      this.log(`private MariaDB (pid ${pid}) did not exit within ${this.stopTimeoutMs} ms; killing it`);
      signal(pid, 'SIGKILL');
      await waitFor(() => processGone(pid), 10_000);
      // A killed server leaves its pid file behind; remove it so the next start does not trip on it.
      await rm(this.pidFile, { force: true });
    }
    this.child = undefined;
  }

  private async doStart(): Promise<{ socketPath: string }> {
    await mkdir(this.dir, { recursive: true });

    // Adopt a server left running by an earlier run of this dir instead of starting a second
    // one (which would fail anyway on InnoDB's lock of the datadir).
    const existing = await this.livePid();
    if (existing !== null) {
      this.log(`private MariaDB already running (pid ${existing}), reusing it`);
      if (await waitFor(async () => (await pingMysql(this.target(), 2000)) === 'ok', this.startTimeoutMs)) {
        return { socketPath: this.socketPath };
      }
      throw new Error(`private MariaDB (pid ${existing}) for ${this.dir} is running but its socket ${this.socketPath} does not answer${await this.logTail(0)}`);
    }
    // A server that died without cleaning up leaves its pid file; the socket mariadbd replaces itself.
    await rm(this.pidFile, { force: true });

    const binary = this.binaryOpt ?? ManagedMariaDB.findBinary();
    if (!binary) throw new Error('cannot start a private MariaDB: mariadbd is not installed (apt-get install mariadb-server)');
    await mkdir(this.tmpDir, { recursive: true });
    if (!existsSync(this.dataDir)) await this.initDataDir(binary);

    const logStart = fileSize(this.errorLog);
    const args = [
      // The system's /etc/mysql config belongs to the system server (ports, paths, users); ignore it.
      '--no-defaults',
      `--datadir=${this.dataDir}`,
      `--tmpdir=${this.tmpDir}`,
      `--socket=${this.socketPath}`,
      '--skip-networking',
      // The proxy relays client logins over this socket: no login may pass on the OS user the
      // node runs as (root here has a password login, see initDataDir).
      '--unix-socket=OFF',
      `--pid-file=${this.pidFile}`,
      `--log-error=${this.errorLog}`,
      // --no-defaults also drops the distribution's charset settings; pin what Debian ships so a
      // managed node stores text exactly like one on a stock system server.
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_general_ci',
      ...userArgs(),
    ];
    this.log(`starting private MariaDB: ${binary} (datadir ${this.dataDir}, socket ${this.socketPath})`);
    // Detached (own process group) so a Ctrl-C aimed at the node does not kill the server before
    // the node has closed its connections and called stop(); unref so it never holds the node open.
    const child = spawn(binary, args, { detached: true, stdio: 'ignore' });
    this.child = child;
    let exited: string | undefined;
    let spawnError: Error | undefined;
    child.on('error', (e) => (spawnError = e));
    child.on('exit', (code, sig) => (exited = sig ? `signal ${sig}` : `code ${code}`));
    child.unref();

    const up = await waitFor(async () => {
      if (spawnError || exited) return true; // stop waiting; reported below
      return (await pingMysql(this.target(), 1000)) === 'ok';
    }, this.startTimeoutMs);
    if (up && !spawnError && !exited) {
      this.log(`private MariaDB is up (pid ${child.pid})`);
      return { socketPath: this.socketPath };
    }
    if (!exited && child.pid !== undefined) {
      signal(child.pid, 'SIGKILL');
      await waitFor(() => processGone(child.pid!), 10_000);
    }
    this.child = undefined;
    const why = spawnError
      ? `could not run ${binary}: ${spawnError.message}`
      : exited
        ? `${binary} exited with ${exited} during startup`
        : `${binary} did not answer on ${this.socketPath} within ${this.startTimeoutMs} ms`;
    throw new Error(`cannot start private MariaDB in ${this.dir}: ${why}${await this.logTail(logStart)}`);
  }

  /**
   * Creates the system tables. Runs into `data.partial` and renames it at the end, so an
   * interrupted first run never leaves a half-initialised datadir that looks complete.
   */
  private async initDataDir(binary: string): Promise<void> {
    const installDb = findExecutable(INSTALL_DB_NAMES, [dirname(binary), ...SYSTEM_DIRS]);
    if (!installDb) throw new Error(`cannot initialise a private MariaDB: mariadb-install-db is not installed next to ${binary}`);
    const partial = `${this.dataDir}.partial`;
    await rm(partial, { recursive: true, force: true });
    this.log(`initialising private MariaDB datadir ${this.dataDir}`);
    const args = [
      '--no-defaults', // must come first for mariadb-install-db
      `--datadir=${partial}`,
      `--tmpdir=${this.tmpDir}`, // (passed on to the mariadbd it runs)
      // root with an empty password over the socket, whoever the OS user is (socket auth would
      // tie root to the OS root user). Safe because the server has no TCP listener.
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      ...userArgs(),
    ];
    await new Promise<void>((ok, fail) => {
      execFile(installDb, args, { timeout: this.startTimeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        if (!err) return ok();
        const tail = `${stdout}\n${stderr}`.trim().split('\n').slice(-20).join('\n');
        fail(new Error(`${installDb} failed: ${err.message}\n${tail}`));
      });
    });
    await rename(partial, this.dataDir);
  }

  private target(): MysqlTarget {
    return { socketPath: this.socketPath, user: 'root', database: 'mysql' };
  }

  /** The pid from the pid file if that process is alive and really is this dir's server. */
  private async livePid(): Promise<number | null> {
    let pid = NaN;
    try {
      pid = Number((await readFile(this.pidFile, 'utf8')).trim());
    } catch {
      // No pid file yet: the server we just spawned may not have written it; fall back to it.
      pid = this.child?.pid ?? NaN;
    }
    if (!Number.isInteger(pid) || pid <= 0) return null;
    if (processGone(pid)) return null;
    // A stale pid file may name an unrelated process that reused the pid; never signal that one.
    return ownsPid(pid, this.dataDir) ? pid : null;
  }

  /** The error log written since `from` (or its end when nothing new), for error messages. */
  private async logTail(from: number): Promise<string> {
    try {
      const fh = await open(this.errorLog, 'r');
      try {
        const size = (await fh.stat()).size;
        const start = from < size ? Math.max(from, size - 4000) : Math.max(0, size - 4000);
        const buf = Buffer.alloc(size - start);
        await fh.read(buf, 0, buf.length, start);
        const lines = buf.toString('utf8').trim().split('\n').slice(-15).join('\n');
        return lines ? `\n--- ${this.errorLog} (tail) ---\n${lines}` : '';
      } finally {
        await fh.close();
      }
    } catch {
      return ` (no error log at ${this.errorLog})`;
    }
  }
}

function socketPathFor(dir: string): string {
  const preferred = join(dir, 'mysqld.sock');
  if (Buffer.byteLength(preferred) <= MAX_SOCKET_PATH) return preferred;
  const name = `oursql-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}.sock`;
  const inTmp = join(tmpdir(), name);
  return Buffer.byteLength(inTmp) <= MAX_SOCKET_PATH ? inTmp : join('/tmp', name);
}

/** mariadbd refuses to run as root unless told --user=root explicitly. */
function userArgs(): string[] {
  return process.getuid?.() === 0 ? [`--user=${userInfo().username}`] : [];
}

function findExecutable(names: string[], dirs: string[]): string | null {
  const path = (process.env.PATH ?? '').split(':').filter(Boolean);
  const all = [...new Set([...dirs, ...path])];
  for (const name of names) {
    for (const d of all) {
      const p = join(d, name);
      try {
        accessSync(p, fsConstants.X_OK);
        if (statSync(p).isFile()) return p;
      } catch {
        // not here
      }
    }
  }
  return null;
}

function fileSize(p: string): number {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** True when the process no longer exists (a zombie counts as gone: it has exited). */
function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false; // no /proc (macOS): kill(0) is all we know
  }
}

/** On Linux, checks the process's command line names our datadir; elsewhere trusts the pid file. */
function ownsPid(pid: number, dataDir: string): boolean {
  if (!existsSync('/proc/self/cmdline')) return true;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(`--datadir=${dataDir}`);
  } catch {
    return false;
  }
}

/** Polls `cond` every 200 ms until it is true (→ true) or `ms` have passed (→ false). */
async function waitFor(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Connection errors that mean "no server there" (as opposed to a server that said no). */
const DOWN_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTSOCK']);

/**
 * Does a MySQL server answer at `target`? 'ok' when login and `SELECT 1` work, 'down' when
 * nothing listens (refused, no socket file, timeout), else the server's error (e.g. access
 * denied). Connects without a database, since the node creates its databases itself.
 * Lives here rather than in backend.ts so the two modules do not import each other;
 * backend.ts re-exports it.
 */
export async function pingMysql(target: MysqlTarget, timeoutMs = 2000): Promise<'ok' | 'down' | { error: string }> {
  const attempt = (async () => {
    const conn = await mysql.createConnection({
      host: target.socketPath ? undefined : target.host,
      port: target.socketPath ? undefined : target.port,
      socketPath: target.socketPath,
      user: target.user,
      password: target.password,
      connectTimeout: timeoutMs,
    });
    try {
      await conn.query('SELECT 1');
    } finally {
      conn.destroy();
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs + 500)));
  try {
    // The outer timer covers a peer that accepts TCP but never sends a handshake.
    if ((await Promise.race([attempt, timeout])) === 'timeout') {
      attempt.catch(() => {});
      return 'down';
    }
    return 'ok';
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err.code && DOWN_CODES.has(err.code)) return 'down';
    return { error: err.message || String(e) };
  } finally {
    clearTimeout(timer);
  }
}
