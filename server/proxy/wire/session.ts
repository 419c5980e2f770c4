/**
 * BackendSession: a minimal MySQL client for a socket that is already authenticated and in the
 * command phase (the proxy relayed the client's login). The proxy attaches it between client
 * commands to run its own statements (writes, bookkeeping) on the client's backend connection,
 * then detaches and goes back to relaying.
 *
 * Only COM_QUERY (text protocol). Queries run in call order; a query is written only after the
 * previous response is complete, except the statements of one queryBatch(), which go out in one
 * write (pipelined: the server runs each one even when an earlier one failed).
 */
import type { Socket } from 'node:net';
import { Capability, Command, MariaDbCapability, ServerStatus } from './constants.ts';
import { BackendClosedError, BackendSqlError, ProtocolError, SessionStateError, WireError } from './errors.ts';
import { PacketReader, encodePacket, type Packet } from './framing.ts';
import type { NegotiatedCapabilities } from './handshake.ts';
import { PayloadReader } from './lenenc.ts';
import {
  isEndOfRows,
  isProgressPacket,
  parseColumnDefinition,
  parseEndOfRows,
  parseErr,
  parseOk,
  parseTextRow,
  type ColumnDefinition,
} from './packets.ts';

export interface OkResult {
  kind: 'ok';
  affectedRows: bigint;
  insertId: bigint;
  status: number;
  warnings: number;
  info: string;
}

export interface ErrorResult {
  kind: 'error';
  errno: number;
  sqlState: string;
  message: string;
}

export interface RowsResult {
  kind: 'rows';
  columns: ColumnDefinition[];
  /** Text-protocol values (NULL as null); views into the received data, not copies. */
  rows: (Buffer | null)[][];
  status: number;
  warnings: number;
}

export type QueryResult = OkResult | ErrorResult | RowsResult;

/** A result's rows as UTF-8 strings (for results the proxy reads itself). */
export function stringRows(r: RowsResult): (string | null)[][] {
  return r.rows.map((row) => row.map((v) => (v === null ? null : v.toString('utf8'))));
}

interface Job {
  /** Bytes to write when the job starts (a batch's first job carries the whole batch; the rest none). */
  out: Buffer | null;
  resolve: (r: QueryResult[]) => void;
  reject: (e: Error) => void;
}

/** Where the current response is; mirrors the text result-set grammar. */
type Phase =
  | { at: 'first' }
  | { at: 'columns'; left: number; columns: ColumnDefinition[] }
  | { at: 'metadata-eof'; columns: ColumnDefinition[] }
  | { at: 'rows'; columns: ColumnDefinition[]; rows: (Buffer | null)[][] };

export class BackendSession {
  private readonly caps: number;
  private readonly mariadbCaps: number;
  private socket: Socket | null = null;
  private reader = new PacketReader();
  /** Bytes that arrived when no query was waiting for them (returned by detach()). */
  private stash: Buffer[] = [];
  private queue: Job[] = [];
  private current: Job | null = null;
  private phase: Phase = { at: 'first' };
  private results: QueryResult[] = [];
  private closedError: Error | null = null;
  private idleWaiters: (() => void)[] = [];

  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onError = (e: Error) => this.close(new BackendClosedError(`backend connection failed: ${e.message}`));
  private readonly onClose = () => this.close(new BackendClosedError('backend connection closed'));

  /** `caps`: what the relayed handshake negotiated (decides EOF vs OK-as-EOF, OK layout...). */
  constructor(caps: NegotiatedCapabilities) {
    this.caps = caps.capabilities;
    this.mariadbCaps = caps.mariadbCapabilities ?? 0;
  }

  /**
   * Takes over the socket's data stream: the caller must first stop reading it itself (remove
   * its 'data' listener / unpipe). `pending`: bytes the caller already read but did not use.
   * `ownerFeeds`: the socket emits no 'data' (it reads with `onread`); the owner passes every
   * chunk to feed() instead, a chunk the session may keep.
   */
  attach(socket: Socket, pending?: Buffer, opts?: { ownerFeeds?: boolean }): void {
    if (this.socket) throw new SessionStateError('session is already attached');
    if (this.closedError) throw this.closedError;
    if (socket.destroyed) {
      this.close(new BackendClosedError('backend connection closed'));
      throw this.closedError;
    }
    this.socket = socket;
    if (!opts?.ownerFeeds) socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    if (pending && pending.length) this.stash.push(pending);
    socket.resume();
  }

  /**
   * Gives the socket back: removes the session's listeners and pauses the socket, so no byte is
   * lost before the caller reads again (resume() or pipe() it). Returns unconsumed bytes (none
   * normally: the server sends nothing between responses). Throws while queries are pending;
   * await idle() first.
   */
  detach(): Buffer {
    const s = this.socket;
    if (!s) throw new SessionStateError('session is not attached');
    if (this.current || this.queue.length) throw new SessionStateError('session is busy; await idle() before detach()');
    s.pause();
    s.off('data', this.onData);
    s.off('error', this.onError);
    s.off('close', this.onClose);
    this.socket = null;
    const rest = [...this.stash, this.reader.takePending()];
    this.stash = [];
    return Buffer.concat(rest);
  }

  /** Bytes read by the owner of a socket attached with `ownerFeeds`. */
  feed(chunk: Buffer): void {
    this.receive(chunk);
  }

  get attached(): boolean {
    return this.socket !== null;
  }

  /** A query is running or queued. */
  get busy(): boolean {
    return this.current !== null || this.queue.length > 0;
  }

  /** The socket closed or failed (or the stream desynchronized): every query now rejects. */
  get closed(): boolean {
    return this.closedError !== null;
  }

  /** Resolves when no query is running or queued. */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Runs SQL and returns its first result, except that an error in any later result of a
   * multi-statement wins (ignoring it would hide a failed statement). Rejects with
   * BackendClosedError when the connection is gone, SessionStateError when detached, and
   * ProtocolError when the response cannot be parsed.
   */
  async query(sql: string): Promise<QueryResult> {
    const all = await this.queryAll(sql);
    return all.find((r) => r.kind === 'error') ?? all[0];
  }

  /** Runs SQL and returns every result (one per statement of a multi-statement). */
  queryAll(sql: string): Promise<QueryResult[]> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (!this.socket) return Promise.reject(new SessionStateError('session is not attached to a socket'));
    return new Promise((resolve, reject) => {
      this.queue.push({ out: queryPacket(sql), resolve, reject });
      if (!this.current) this.next();
    });
  }

  /**
   * Runs several statements pipelined: all are written at once (one round trip), and each gets
   * its own results, in order. A failed statement does not stop the later ones: batch only
   * statements whose later members are safe to run whatever the earlier ones did.
   */
  queryBatch(sqls: readonly string[]): Promise<QueryResult[][]> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (!this.socket) return Promise.reject(new SessionStateError('session is not attached to a socket'));
    const all = Buffer.concat(sqls.map(queryPacket));
    const done = sqls.map((_, i) => new Promise<QueryResult[]>((resolve, reject) => {
      this.queue.push({ out: i === 0 ? all : null, resolve, reject });
    }));
    if (!this.current) this.next();
    return Promise.all(done);
  }

  /** Like query(), but an ERR result throws BackendSqlError. */
  async queryOrThrow(sql: string): Promise<OkResult | RowsResult> {
    const r = await this.query(sql);
    if (r.kind === 'error') throw new BackendSqlError(r.errno, r.sqlState, r.message);
    return r;
  }

  private next(): void {
    const job = this.queue.shift();
    if (!job) {
      this.current = null;
      for (const w of this.idleWaiters.splice(0)) w();
      return;
    }
    this.current = job;
    this.phase = { at: 'first' };
    this.results = [];
    if (job.out) this.socket!.write(job.out);
    if (this.stash.length) {
      // Bytes that came in while idle (e.g. the ERR a killed connection sends) answer this query;
      // they precede any partial packet the reader holds.
      const early = Buffer.concat([...this.stash, this.reader.takePending()]);
      this.stash = [];
      this.receive(early);
    }
  }

  private receive(chunk: Buffer): void {
    if (!this.current) {
      this.stash.push(chunk);
      return;
    }
    let packets: Packet[];
    try {
      packets = this.reader.push(chunk);
    } catch (e) {
      return this.close(asWireError(e));
    }
    for (let k = 0; k < packets.length; k++) {
      if (!this.current) {
        // Anything after the last response is not ours to interpret; keep it for detach().
        this.stash.push(...packets.slice(k).map((p) => p.raw));
        return;
      }
      let done: boolean;
      try {
        done = this.handle(packets[k]);
      } catch (e) {
        return this.close(asWireError(e));
      }
      if (done) {
        // The next packets (of a pipelined batch) answer the next job.
        const job = this.current!;
        const results = this.results;
        this.results = [];
        job.resolve(results);
        this.next();
      }
    }
  }

  /** Handles one packet of the current response; true when the response is complete. */
  private handle(p: Packet): boolean {
    const payload = p.payload;
    const first = payload.length ? payload[0] : -1;
    const phase = this.phase;
    switch (phase.at) {
      case 'first': {
        if (first === 0x00) {
          const ok = parseOk(payload, this.caps);
          this.results.push({ kind: 'ok', affectedRows: ok.affectedRows, insertId: ok.insertId, status: ok.status, warnings: ok.warnings, info: ok.info });
          return this.endResult(ok.status);
        }
        if (first === 0xff) {
          if (this.mariadbCaps & MariaDbCapability.PROGRESS && isProgressPacket(payload)) return false;
          const e = parseErr(payload);
          this.results.push({ kind: 'error', errno: e.errno, sqlState: e.sqlState, message: e.message });
          return true;
        }
        if (first === 0xfb) {
          // LOAD DATA LOCAL INFILE: the proxy never sends files; an empty packet says "no data"
          // and the server answers with OK/ERR.
          this.socket!.write(encodePacket(Buffer.alloc(0), (p.lastSeq + 1) & 0xff));
          return false;
        }
        if (first < 0) throw new ProtocolError('empty packet where a result was expected');
        const r = new PayloadReader(payload, 0, 'column count');
        const count = r.lenenc();
        const metadataFollows = !(this.caps & Capability.OPTIONAL_RESULTSET_METADATA) || r.remaining === 0 || r.u8() !== 0;
        if (metadataFollows) this.phase = { at: 'columns', left: count, columns: [] };
        else this.afterColumns([]);
        return false;
      }
      case 'columns':
        phase.columns.push(parseColumnDefinition(payload, { mariadbCapabilities: this.mariadbCaps }));
        if (--phase.left === 0) this.afterColumns(phase.columns);
        return false;
      case 'metadata-eof':
        if (first === 0xff) return this.pushError(payload);
        parseEndOfRows(payload, this.caps);
        this.phase = { at: 'rows', columns: phase.columns, rows: [] };
        return false;
      case 'rows': {
        if (isEndOfRows(payload, this.caps)) {
          const end = parseEndOfRows(payload, this.caps);
          this.results.push({ kind: 'rows', columns: phase.columns, rows: phase.rows, status: end.status, warnings: end.warnings });
          return this.endResult(end.status);
        }
        if (first === 0xff) return this.pushError(payload);
        phase.rows.push(parseTextRow(payload, phase.columns.length || undefined));
        return false;
      }
    }
  }

  private afterColumns(columns: ColumnDefinition[]): void {
    this.phase = this.caps & Capability.DEPRECATE_EOF ? { at: 'rows', columns, rows: [] } : { at: 'metadata-eof', columns };
  }

  /** An ERR after a result started: it ends the whole response. */
  private pushError(payload: Buffer): true {
    const e = parseErr(payload);
    this.results.push({ kind: 'error', errno: e.errno, sqlState: e.sqlState, message: e.message });
    return true;
  }

  private endResult(status: number): boolean {
    if (status & ServerStatus.MORE_RESULTS_EXISTS) {
      this.phase = { at: 'first' };
      return false;
    }
    return true;
  }

  /** The connection is unusable: fail the running and queued queries, and any later one. */
  private close(err: Error): void {
    if (!this.closedError) this.closedError = err;
    const jobs = this.current ? [this.current, ...this.queue] : [...this.queue];
    this.current = null;
    this.queue = [];
    for (const j of jobs) j.reject(this.closedError);
    for (const w of this.idleWaiters.splice(0)) w();
  }
}

function queryPacket(sql: string): Buffer {
  const text = Buffer.from(sql, 'utf8');
  const payload = Buffer.allocUnsafe(1 + text.length);
  payload[0] = Command.QUERY;
  text.copy(payload, 1);
  return encodePacket(payload, 0);
}

function asWireError(e: unknown): Error {
  if (e instanceof WireError) return e;
  return new ProtocolError(`backend response could not be parsed: ${e instanceof Error ? e.message : String(e)}`);
}
