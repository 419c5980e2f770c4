/**
 * MySQL commands written without waiting for the answers before them (protocol pipelining, which
 * MariaDB and MySQL serve: the server reads the next command once it has answered one). mysql2
 * writes a queued command only after the previous one's answer, so each costs a round trip and a
 * socket write of its own; on this kind of machine a write to loopback costs ~0.2 ms of CPU and
 * each round trip a wake-up of both sides.
 *
 * - `sendPipelined`: several commands in one write, as one command of mysql2's queue, so nothing
 *   else sent on the connection can run between them (a batch's multi-statements on/off).
 * - `beginPipelinedTransaction`: a transaction whose queued queries are written at once.
 *
 * mysql2 has no API for this (nor for COM_SET_OPTION): its command and packet classes are loaded
 * by path, the version pinned by the lock file. Answers are still read in order by mysql2's queue.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { PoolConnection } from 'mysql2/promise';
import { quoteId } from './schema.ts';

const COM_SET_OPTION = 0x1b;

const require = createRequire(import.meta.url);
const lib = join(dirname(require.resolve('mysql2')), 'lib');
const Command = require(join(lib, 'commands/command.js')) as new () => object;
const Packet = require(join(lib, 'packets/packet.js')) as new (seq: number, buf: Buffer, start: number, end: number) => MysqlPacket;
const Query = require(join(lib, 'commands/query.js')) as new () => QueryCommand;
const BaseConnection = require(join(lib, 'base/connection.js')) as {
  createQuery(sql: string, values: undefined, cb: (err: Error | null, rows?: unknown) => void, config: unknown): QueryCommand;
};

interface MysqlPacket {
  isError(): boolean;
  asError(encoding: string): Error;
}
interface QueryCommand {
  start(packet: unknown, connection: CoreConnection): unknown;
  execute(packet: MysqlPacket | undefined, connection: CoreConnection): boolean;
  next: unknown;
  _connection: CoreConnection;
}
interface CoreConnection {
  addCommand(cmd: object): unknown;
  /** The command being answered (mysql2 writes the next one after it). */
  _command?: object;
  _fatalError?: unknown;
  writePacket(p: object): void;
  sequenceId: number;
  config: { compress?: boolean };
  clientEncoding: string;
  stream: { cork(): void; uncork(): void };
}

/** A command of the pipeline: COM_SET_OPTION with its option, or COM_QUERY with SQL sent as it is. */
export type Step = { option: number } | { sql: string };
/** What the server answered to one step: a query's result (mysql2's `rows`), or its error. */
export type StepResult = { value: unknown } | { error: Error };

class PipelinedCommands extends Command {
  private readonly results: (StepResult | undefined)[];
  /** The query command of each query step, reading its answer (its packet is already sent). */
  private readonly queries: (QueryCommand | undefined)[];
  private sent = false;
  private at = 0; // the step being answered
  private finished = false;

  constructor(private readonly steps: readonly Step[], private readonly onDone: (r: StepResult[]) => void) {
    super();
    this.results = steps.map(() => undefined);
    this.queries = steps.map(() => undefined);
  }

  /** mysql2 calls this on a fatal error (connection lost): every step not answered fails with it. */
  onResult(err: Error): void {
    for (let i = this.at; i < this.steps.length; i++) this.results[i] ??= { error: err };
    this.finish();
  }

  execute(packet: MysqlPacket | undefined, connection: CoreConnection): boolean {
    if (packet === undefined) {
      // its turn in mysql2's queue (written now, unless written ahead)
      if (!this.sent) this.send(connection);
      connection.sequenceId = 1; // each command's answer is numbered from 1
      return false;
    }
    const query = this.queries[this.at];
    if (!query) {
      // COM_SET_OPTION: one packet, EOF/OK or ERR
      this.results[this.at] = packet.isError() ? { error: packet.asError(connection.clientEncoding) } : { value: undefined };
    } else if (!query.execute(packet, connection)) return false; // its callback gives the result
    this.queries[this.at] = undefined;
    if (++this.at === this.steps.length) {
      this.finish();
      return true;
    }
    connection.sequenceId = 1;
    return false;
  }

  /** Writes every step's packet: now, or with `ahead` before its turn. */
  send(connection: CoreConnection, ahead?: AheadWriter): void {
    this.sent = true;
    const packets: object[] = [];
    this.steps.forEach((step, i) => {
      if ('option' in step) {
        // 4 bytes of header (filled in by writePacket), the command byte, the option as int<2>
        const body = Buffer.from([0, 0, 0, 0, COM_SET_OPTION, step.option, 0]);
        packets.push(new Packet(0, body, 0, body.length));
        return;
      }
      const q = BaseConnection.createQuery(step.sql, undefined, (err, rows) => (this.results[i] = err ? { error: err } : { value: rows }), connection.config);
      packets.push(...startQuery(q, connection));
      this.queries[i] = q;
    });
    if (ahead) ahead.write(packets);
    else writeCommands(connection, packets);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    // after the last query's callback, which mysql2 gives on the next tick
    process.nextTick(() => this.onDone(this.results.map((r) => r ?? { error: new Error('MySQL gave no answer to a pipelined command') })));
  }
}

/** Starts mysql2's query command `q` without writing: its packets are returned, and it then reads the answer. */
function startQuery(q: QueryCommand, connection: CoreConnection): object[] {
  const packets: object[] = [];
  const capture = Object.assign(Object.create(connection) as CoreConnection, { writePacket: (p: object) => void packets.push(p) });
  q.next = q.start(undefined, capture);
  q._connection = connection;
  return packets;
}

/** Writes the packets of whole commands (each numbered from 0) in one write; the sequence of the command being answered is kept. */
function writeCommands(connection: CoreConnection, packets: readonly object[]): void {
  connection.stream.cork();
  numbered(connection, packets);
  connection.stream.uncork();
}

function numbered(connection: CoreConnection, packets: readonly object[]): void {
  const seq = connection.sequenceId;
  for (const p of packets) {
    connection.sequenceId = 0;
    connection.writePacket(p);
  }
  connection.sequenceId = seq;
}

/**
 * Writes commands ahead of their turn, those queued together (before the next microtask) in one
 * write: one instead of one per command saves a syscall and a wake-up each. Not held longer: a
 * sync run checks its next block meanwhile, and MariaDB would wait for the end of that.
 */
class AheadWriter {
  private corked = false;
  constructor(private readonly connection: CoreConnection) {}

  write(packets: readonly object[]): void {
    if (!this.corked) {
      this.corked = true;
      this.connection.stream.cork();
      queueMicrotask(() => this.flush());
    }
    numbered(this.connection, packets);
  }

  flush(): void {
    if (!this.corked) return;
    this.corked = false;
    this.connection.stream.uncork();
  }
}

const coreOf = (conn: PoolConnection) => (conn as unknown as { connection: CoreConnection }).connection;

/**
 * Sends `steps` on `conn` in one write and resolves with each one's answer, in order. A step's
 * error does not stop the ones after it (the server runs each command it reads).
 */
export function sendPipelined(conn: PoolConnection, steps: readonly Step[]): Promise<StepResult[]> {
  return new Promise((resolve) => coreOf(conn).addCommand(new PipelinedCommands(steps, resolve)));
}

/**
 * Until the returned function is called, a query (or `sendPipelined`) queued on `conn` behind a
 * command still being answered is written at once; its answer is read in its turn, as before.
 * The server runs queued commands in order either way, an earlier one's failure included, as
 * mysql2 would have sent them.
 */
function writeAhead(conn: PoolConnection): () => void {
  const core = coreOf(conn);
  if (core.config.compress) return () => {}; // compressed packets are numbered across commands
  const ahead = new AheadWriter(core);
  const own = Object.prototype.hasOwnProperty.call(core, 'addCommand');
  const add = core.addCommand;
  core.addCommand = function (cmd: object) {
    if (core._command && !core._fatalError) {
      if (cmd instanceof PipelinedCommands) cmd.send(core, ahead);
      else if (cmd instanceof Query) writeQueryAhead(ahead, core, cmd);
    }
    return add.call(core, cmd);
  };
  return () => {
    ahead.flush();
    if (own) core.addCommand = add;
    else delete (core as Partial<CoreConnection>).addCommand;
  };
}

function writeQueryAhead(ahead: AheadWriter, core: CoreConnection, q: QueryCommand): void {
  ahead.write(startQuery(q, core));
  const execute = q.execute;
  q.execute = function (packet, connection) {
    if (packet !== undefined) return execute.call(this, packet, connection);
    connection.sequenceId = 1; // its turn: the packet went ahead, the answer is numbered from 1
    return false;
  };
}

/**
 * Begins a transaction on `conn` (in database `db`) whose queued queries are written ahead
 * (`writeAhead`), with autocommit off: a deadlock rolls a transaction back and the server goes on
 * with the commands written after it; with autocommit on, each would commit by itself, outside
 * the transaction. With it off they open a new transaction, which the caller's ROLLBACK (on that
 * failure) undoes. Returns what ends it, called after COMMIT or ROLLBACK and before the connection
 * goes back to its pool: autocommit on again (never while the transaction may be open, which it
 * would commit). After a COMMIT (`committed`) that is queued, not waited for: whoever takes the
 * connection next queues behind it, and if it fails the connection is closed, not reused.
 */
export async function beginPipelinedTransaction(conn: PoolConnection, db: string): Promise<(committed?: boolean) => Promise<void>> {
  const stop = writeAhead(conn);
  const end = async (committed = false) => {
    stop();
    // never back to its pool with autocommit off: the next user's writes would wait for a COMMIT
    const on = conn.query('SET autocommit = 1').then(() => {}, () => conn.destroy());
    if (!committed) await on;
  };
  try {
    await Promise.all([conn.query('SET autocommit = 0'), conn.beginTransaction(), conn.query(`USE ${quoteId(db)}`)]);
  } catch (e) {
    await end();
    throw e;
  }
  return end;
}
