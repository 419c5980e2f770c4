/**
 * Several MySQL commands sent in one write, answered in order (protocol pipelining, which
 * MariaDB and MySQL serve: the server reads the next command once it has answered one). mysql2
 * sends a queued command only after the previous one's answer, so a batch's four commands cost
 * four round trips and four socket writes; on this kind of machine a write to loopback costs
 * ~0.2 ms of CPU and each round trip a wake-up of both sides.
 *
 * mysql2 has no API for this (nor for COM_SET_OPTION): its command and packet classes are loaded
 * by path, the version pinned by the lock file. The commands go out as one command of mysql2's
 * queue, so nothing else sent on the connection can run between them.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { PoolConnection } from 'mysql2/promise';

const COM_SET_OPTION = 0x1b;

const require = createRequire(import.meta.url);
const lib = join(dirname(require.resolve('mysql2')), 'lib');
const Command = require(join(lib, 'commands/command.js')) as new () => object;
const Packet = require(join(lib, 'packets/packet.js')) as new (seq: number, buf: Buffer, start: number, end: number) => MysqlPacket;
const BaseConnection = require(join(lib, 'base/connection.js')) as {
  createQuery(sql: string, values: undefined, cb: (err: Error | null, rows?: unknown) => void, config: unknown): QueryCommand;
};

interface MysqlPacket {
  isError(): boolean;
  asError(encoding: string): Error;
}
interface QueryCommand {
  start(packet: unknown, connection: CoreConnection): unknown;
  execute(packet: MysqlPacket, connection: CoreConnection): boolean;
  _connection: CoreConnection;
}
interface CoreConnection {
  addCommand(cmd: object): void;
  writePacket(p: object): void;
  sequenceId: number;
  config: unknown;
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
  private at = -1; // the step being answered; -1: nothing sent yet
  private finished = false;

  constructor(private readonly steps: readonly Step[], private readonly onDone: (r: StepResult[]) => void) {
    super();
    this.results = steps.map(() => undefined);
    this.queries = steps.map(() => undefined);
  }

  /** mysql2 calls this on a fatal error (connection lost): every step not answered fails with it. */
  onResult(err: Error): void {
    for (let i = Math.max(this.at, 0); i < this.steps.length; i++) this.results[i] ??= { error: err };
    this.finish();
  }

  execute(packet: MysqlPacket | undefined, connection: CoreConnection): boolean {
    if (this.at < 0) {
      this.send(connection);
      this.at = 0;
      return false;
    }
    const query = this.queries[this.at];
    if (!query) {
      // COM_SET_OPTION: one packet, EOF/OK or ERR
      this.results[this.at] = packet!.isError() ? { error: packet!.asError(connection.clientEncoding) } : { value: undefined };
    } else if (!query.execute(packet!, connection)) return false; // its callback gives the result
    this.queries[this.at] = undefined;
    if (++this.at === this.steps.length) {
      this.finish();
      return true;
    }
    connection.sequenceId = 1; // each command's answer is numbered from 1
    return false;
  }

  private send(connection: CoreConnection): void {
    const packets: object[] = [];
    // mysql2's Query builds its packet in start(): captured here, written below with the others
    const capture = Object.assign(Object.create(connection) as CoreConnection, { writePacket: (p: object) => void packets.push(p) });
    this.steps.forEach((step, i) => {
      if ('option' in step) {
        // 4 bytes of header (filled in by writePacket), the command byte, the option as int<2>
        const body = Buffer.from([0, 0, 0, 0, COM_SET_OPTION, step.option, 0]);
        packets.push(new Packet(0, body, 0, body.length));
        return;
      }
      const q = BaseConnection.createQuery(step.sql, undefined, (err, rows) => (this.results[i] = err ? { error: err } : { value: rows }), connection.config);
      (q as unknown as { next: unknown }).next = q.start(undefined, capture);
      q._connection = connection;
      this.queries[i] = q;
    });
    connection.stream.cork();
    for (const p of packets) {
      connection.sequenceId = 0; // each command is numbered from 0
      connection.writePacket(p);
    }
    connection.stream.uncork();
    connection.sequenceId = 1;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    // after the last query's callback, which mysql2 gives on the next tick
    process.nextTick(() => this.onDone(this.results.map((r) => r ?? { error: new Error('MySQL gave no answer to a pipelined command') })));
  }
}

/**
 * Sends `steps` on `conn` in one write and resolves with each one's answer, in order. A step's
 * error does not stop the ones after it (the server runs each command it reads).
 */
export function sendPipelined(conn: PoolConnection, steps: readonly Step[]): Promise<StepResult[]> {
  const core = (conn as unknown as { connection: CoreConnection }).connection;
  return new Promise((resolve) => core.addCommand(new PipelinedCommands(steps, resolve)));
}
