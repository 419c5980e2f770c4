import type { Socket } from 'node:net';
import type { PreparedTx } from '../../consensus/index.ts';
import type { SqlClassifier, WriteStatement } from '../sql/classify.ts';
import { parseSigningComments, SigningCommentError, type SigningRequest } from '../sql/comments.ts';
import { refsOverlap } from '../chain/sqltx.ts';
import type { WriteOutcome } from '../sql/plan.ts';
import { SESSION_INFO, type WriteReply, type WriteSession } from '../sql/replicate.ts';
import { ER, ReplicationError, toMysqlError } from './errors.ts';
import { SocketLink } from './socket-link.ts';
import type { Movable, ReadRelayPool } from './relay/pool.ts';
import { unsent } from './relay/sockets.ts';
import { SessionExecutor } from './session-executor.ts';
import {
  BackendSession, Capability, Command, decodeExecute, encodeErr, encodeOk, encodePacket, encodeResultSet, inlineParams,
  negotiate, PacketReader, parseGreeting, parseHandshakeResponse, PROXY_CLEARED_CAPABILITIES, PROXY_CLEARED_MARIADB_CAPABILITIES,
  ResponseTracker, ServerStatus, withoutCapabilities, withoutClientCapabilities, type NegotiatedCapabilities, type Packet, type ParamType,
} from './wire/index.ts';


/** The replication side of the proxy (server/sql/replicate.ts implements it). */
export interface WriteHandler {
  isUnmanaged(table: string): boolean;
  /** The node signs plain updates (it has a proxy key). */
  readonly nodeSigns: boolean;
  /** A node-signed update with autocommit: one statement, one tx. */
  autocommit(exec: SessionExecutor, s: WriteSession, write: WriteStatement): Promise<WriteReply>;
  /** A node-signed update inside the client's transaction: executed now, a tx at COMMIT. */
  inTransaction(exec: SessionExecutor, s: WriteSession, write: WriteStatement): Promise<WriteReply>;
  /** COMMIT of a transaction with writes: one tx for all of them, then MySQL's COMMIT. */
  commit(exec: SessionExecutor, s: WriteSession): Promise<WriteReply>;
  /** Client-signed step 1: the body to sign; nothing stays executed. */
  prepare(exec: SessionExecutor, s: WriteSession, write: WriteStatement, pubkey: string): Promise<PreparedTx>;
  /** Client-signed step 2: checks and executes the signed body. */
  executeSigned(exec: SessionExecutor, s: WriteSession, sql: string, data: string, sign: string): Promise<WriteReply>;
}

export interface ConnectionOptions {
  classifier: SqlClassifier;
  writes: WriteHandler;
  log: (msg: string) => void;
  /** Close a connection idle this long (no command in progress). */
  idleTimeoutMs: number;
  /** Processes that may relay this connection's reads while it only reads. */
  relays?: ReadRelayPool;
  /** Called once when the connection is closed, here or in a relay process. */
  onClosed?: () => void;
}

interface PreparedStatement {
  sql: string;
  paramCount: number;
  types: ParamType[] | undefined;
  /** set for statements that write: executes go through the write path */
  write?: { request: SigningRequest; statement: WriteStatement };
}

const COM_QUERY_WRITE_HINT = /PUBKEY|DATA/;
/** Commands that answer "your transaction was rolled back" (not PING, QUIT, STMT_CLOSE …). */
const ABORT_ANSWERED = new Set<number>([Command.QUERY, Command.STMT_EXECUTE, Command.STMT_PREPARE]);
const USE_OR_SET = /\b(use|set)\b/i;
/** Plain reads in a row before a connection is offered to a read-relay process (see relay/pool.ts). */
export const HAND_OFF_AFTER = 64;

/**
 * One client: relays the handshake to its own backend connection, then reads commands one at a
 * time. Reads are relayed as bytes (ResponseTracker only finds where each response ends); updates
 * are run by the proxy itself on the same backend connection and answered with its own packets.
 */
export class ProxyConnection implements Movable {
  private readonly clientReader = new PacketReader();
  private caps: NegotiatedCapabilities = { capabilities: 0 };
  private tracker?: ResponseTracker;
  private session?: BackendSession;
  private exec?: SessionExecutor;
  private phase: 'greeting' | 'auth' | 'command' | 'closed' = 'greeting';
  private queue: Packet[] = [];
  private busy = false;
  private relaying = false;
  private intercepting = false;
  /** Client is in an explicit transaction (BEGIN, or autocommit=0 after a statement). */
  private inTxn = false;
  private autocommit = true;
  private readonly writeSession: WriteSession = { pending: [], cache: new Map() };
  /** The chain rolled the open transaction back: the next statement is told so (error 1213). */
  private aborted?: string;
  private readonly statements = new Map<number, PreparedStatement>();
  private pendingPrepare?: { sql: string; write?: PreparedStatement['write'] };
  private idleTimer?: NodeJS.Timeout;
  /** When the client last sent bytes (Date.now()); one timer checks it, none is re-armed per packet. */
  private lastActive = Date.now();
  /** Plain reads relayed in a row (see HAND_OFF_AFTER). */
  private readStreak = 0;
  /** The relay pool chose this process for the current run of reads: not offered again until a non-read. */
  private keptHere = false;
  /** The connection's sockets are in a read-relay process. */
  private away = false;

  client!: Socket;
  backend!: Socket;
  private link!: SocketLink;
  private clientLink!: SocketLink;

  constructor(clientLink: SocketLink, link: SocketLink, private readonly opts: ConnectionOptions) {
    this.bind(clientLink, link);
    clientLink.socket.setKeepAlive(true, 60_000);
    link.socket.setKeepAlive(true, 60_000);
    this.armIdle(this.opts.idleTimeoutMs);
  }

  private bind(clientLink: SocketLink, link: SocketLink): void {
    const client = (this.client = clientLink.socket);
    this.clientLink = clientLink;
    this.link = link;
    const backend = (this.backend = link.socket);
    client.setNoDelay(true);
    backend.setNoDelay(true);
    clientLink.onChunk = (view) => this.onClientData(view);
    link.onChunk = (view) => this.onBackendData(view);
    client.on('drain', () => backend.resume());
    backend.on('drain', () => client.resume());
    for (const s of [client, backend]) {
      s.on('error', () => this.close());
      s.on('close', () => this.close());
    }
  }

  close(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    clearTimeout(this.idleTimer);
    // away: the sockets here are husks; the relay process closes the real ones (or died with them)
    if (!this.away) {
      this.client.destroy();
      this.backend.destroy();
    }
    this.opts.onClosed?.();
  }

  // ---- read-relay processes ----

  endedAway(): void {
    this.close();
  }

  returned(client: Socket, backend: Socket, pending: Buffer): void {
    if (this.phase === 'closed') {
      client.destroy();
      backend.destroy();
      return;
    }
    this.away = false;
    this.notPlainRead();
    this.bind(SocketLink.adopt(client), SocketLink.adopt(backend));
    this.lastActive = Date.now();
    this.armIdle(this.opts.idleTimeoutMs);
    if (pending.length) this.onClientData(pending);
  }

  /** A command that is not a plain read: the connection stays here until it reads for a while again. */
  private notPlainRead(): void {
    this.readStreak = 0;
    this.keptHere = false;
  }

  /**
   * The response to a plain read is complete, and held back in `reply`: if the connection has only
   * read for a while and holds nothing the write path tracks, a relay process may take it now,
   * sending the reply itself. The client waits for that reply, so it sends nothing meanwhile.
   */
  private handedOff(reply: Buffer): boolean {
    const relays = this.opts.relays;
    if (!relays || this.readStreak < HAND_OFF_AFTER || this.keptHere) return false;
    if (this.busy || this.intercepting || this.queue.length || this.clientReader.pendingBytes || this.pendingPrepare || this.aborted
      || this.inTxn || !this.autocommit || this.writeSession.pending.length || unsent(this.client, this.backend)) return false;
    const to = relays.place();
    if (to === 'later') return false;
    if (to === 'here') {
      this.keptHere = true;
      return false;
    }
    this.away = true;
    clearTimeout(this.idleTimer);
    const reads = [...this.statements].filter(([, st]) => !st.write).map(([id]) => id);
    relays.handOff(to, this, {
      client: this.client, backend: this.backend, caps: this.caps, reads, reply: Buffer.from(reply), idleTimeoutMs: this.opts.idleTimeoutMs,
    });
    return true;
  }

  private armIdle(ms: number): void {
    this.idleTimer = setTimeout(() => {
      const idle = Date.now() - this.lastActive;
      // busy: a command of ours runs; relaying: the server has not finished answering one
      if (idle >= this.opts.idleTimeoutMs && !this.busy && !this.relaying && !this.intercepting) {
        this.opts.log('proxy: closing an idle connection');
        this.close();
      } else this.armIdle(idle < this.opts.idleTimeoutMs ? this.opts.idleTimeoutMs - idle : this.opts.idleTimeoutMs);
    }, ms);
    this.idleTimer.unref();
  }

  // ---- handshake (relayed) ----

  private greeting?: ReturnType<typeof parseGreeting>;
  private backendReader = new PacketReader();

  /** `view` is the link's reused read buffer: whatever keeps bytes past this call gets a copy. */
  private onBackendData(view: Buffer): void {
    // While the proxy runs its own statements the BackendSession reads the stream.
    if (this.intercepting) return this.session!.feed(Buffer.from(view));
    if (this.phase === 'command') return this.relayResponse(view);
    try {
      for (const p of this.backendReader.push(Buffer.from(view))) {
        if (this.phase === 'greeting') {
          this.greeting = parseGreeting(p.payload);
          // No TLS, no compression, no bulk execute: the proxy reads the stream (SPEC 5: cleanly not offered).
          this.client.write(encodePacket(withoutCapabilities(p.payload, PROXY_CLEARED_CAPABILITIES, PROXY_CLEARED_MARIADB_CAPABILITIES), p.seq));
          this.phase = 'auth';
          continue;
        }
        this.client.write(p.raw);
        if (p.payload[0] === 0x00 && this.phase === 'auth') {
          this.phase = 'command';
          this.tracker = new ResponseTracker(this.caps);
          this.session = new BackendSession(this.caps);
          const rest = this.backendReader.takePending();
          if (rest.length) this.relayResponse(rest);
          this.pump();
        } else if (p.payload[0] === 0xff) {
          this.close();
        }
      }
    } catch (e) {
      this.opts.log(`proxy: handshake failed: ${(e as Error).message}`);
      this.close();
    }
  }

  /** `chunk` is the client link's reused read buffer (see the end). */
  private onClientData(chunk: Buffer): void {
    this.lastActive = Date.now();
    let packets: Packet[];
    try {
      packets = this.clientReader.push(chunk);
    } catch (e) {
      this.opts.log(`proxy: malformed packet from client: ${(e as Error).message}`);
      return this.close();
    }
    for (const p of packets) {
      if (this.phase === 'auth') {
        if (p.seq === 1 && this.greeting && !this.caps.capabilities) {
          try {
            const response = parseHandshakeResponse(p.payload);
            this.caps = negotiate(this.greeting, response);
            // LOAD DATA LOCAL would bypass replication: the server refuses it when the flag is off.
            const cleared = withoutClientCapabilities(p.payload, Capability.LOCAL_FILES, PROXY_CLEARED_MARIADB_CAPABILITIES);
            this.caps = { ...this.caps, capabilities: (this.caps.capabilities & ~Capability.LOCAL_FILES & ~PROXY_CLEARED_CAPABILITIES) >>> 0 };
            this.backend.write(encodePacket(cleared, p.seq));
          } catch (e) {
            this.opts.log(`proxy: bad handshake response: ${(e as Error).message}`);
            return this.close();
          }
          continue;
        }
        this.backend.write(p.raw);
        continue;
      }
      if (this.phase === 'command') this.queue.push(p);
    }
    if (this.phase === 'command') this.pump();
    // `chunk` is the link's reused buffer. Usually the command in it was relayed and the kernel
    // took the bytes; whatever still reads from it later (a queued packet or write, a partial
    // packet, the login) gets a new buffer for the next read. A command of ours in progress does
    // not: it has made its strings from the packet and keeps only its sequence id (sendError,
    // intercept), so an update does not pin a 64 KiB buffer while it is signed.
    if (this.phase !== 'command' || this.queue.length || this.clientReader.pendingBytes || this.backend.writableLength) this.clientLink.keep();
  }

  // ---- command phase ----

  /**
   * Runs queued commands in order. Relayed commands (reads, most of the traffic) run synchronously,
   * with no promise per query; a command the proxy answers itself holds the queue until it is done.
   */
  private pump(): void {
    if (this.busy) return;
    try {
      while (this.queue.length && this.phase === 'command' && !this.relaying) {
        const pending = this.command(this.queue.shift()!);
        if (pending) {
          this.busy = true;
          pending.then(
            () => {
              this.busy = false;
              this.pump();
            },
            (e: Error) => this.failed(e),
          );
          return;
        }
      }
    } catch (e) {
      this.failed(e as Error);
    }
  }

  private failed(e: Error): void {
    this.opts.log(`proxy: connection error: ${e.stack ?? e.message}`);
    this.close();
    this.busy = false;
  }

  /** Forwards a command's raw bytes; the response goes back as bytes until the tracker says done. */
  private relay(p: Packet): void {
    const cmd = p.payload[0];
    let expectsResponse: boolean;
    try {
      expectsResponse = this.tracker!.start(cmd);
    } catch {
      return this.sendError(p, { errno: 1047, sqlState: '08S01', message: `OurSQL does not relay command 0x${cmd.toString(16)}` });
    }
    this.relaying = expectsResponse;
    this.backend.write(p.raw);
    if (cmd === Command.QUIT) this.close();
  }

  private relayResponse(chunk: Buffer): void {
    if (!this.relaying) {
      // Unexpected bytes from the server between commands (e.g. it is shutting down): forward.
      this.client.write(chunk);
      if (this.client.writableLength) this.link.keep();
      return;
    }
    // LOCAL INFILE cannot be asked for: CLIENT_LOCAL_FILES is cleared at login.
    const r = this.tracker!.feed(chunk);
    if (r.done && r.consumed === chunk.length && this.readStreak >= HAND_OFF_AFTER && this.handedOff(chunk)) {
      this.relaying = false;
      return;
    }
    if (!this.client.write(r.consumed === chunk.length ? chunk : chunk.subarray(0, r.consumed))) this.backend.pause();
    // Usually the kernel took the bytes at once; a queued write still points into the link's buffer.
    if (this.client.writableLength) this.link.keep();
    if (r.done) {
      this.relaying = false;
      if (this.pendingPrepare) this.notePrepared();
      if (this.queue.length) this.pump();
    }
  }

  // ---- open transactions the chain needs the rows of ----

  /** Rows (and tables) the updates of the open transaction hold. */
  private heldRefs(): Set<string> {
    return new Set((this.writeSession.pending as WriteOutcome[]).flatMap((o) => o.refs));
  }

  holdsRows(refs: readonly string[]): boolean {
    return this.writeSession.pending.length > 0 && refsOverlap(refs, this.heldRefs());
  }

  holdsAnyOf(refs: ReadonlySet<string> | 'all'): boolean {
    if (this.writeSession.pending.length === 0) return false;
    return refs === 'all' || refsOverlap([...this.heldRefs()], refs);
  }

  /**
   * Rolls back the open transaction between two commands, as MySQL does to a deadlock victim: the
   * client's next statement gets error 1213 and it runs the transaction again. A connection in the
   * middle of a command is left alone (its locks are waited for, then the block tries again).
   */
  async abortTransaction(why: string): Promise<void> {
    if (this.busy || this.relaying || this.intercepting || this.queue.length || this.phase !== 'command' || !this.session) return;
    this.busy = true;
    try {
      await this.onBackend(async (exec) => {
        try {
          await exec.query('ROLLBACK');
          this.writeSession.pending = [];
          this.inTxn = !this.autocommit;
          this.aborted = `OurSQL: ${why}; the transaction was rolled back: run it again`;
          this.opts.log(`proxy: rolled back a client transaction: ${why}`);
        } catch (e) {
          this.opts.log(`proxy: could not roll back a client transaction: ${(e as Error).message}`);
        }
      });
    } finally {
      this.busy = false;
    }
    this.pump();
  }

  /**
   * Runs `work` on the backend connection with the proxy's own executor instead of relaying. False
   * when the backend connection closed meanwhile (this connection is closed then). `work` must
   * catch its own errors.
   */
  private async onBackend(work: (exec: SessionExecutor) => Promise<void>): Promise<boolean> {
    const session = this.session!;
    this.intercepting = true;
    session.attach(this.backend, undefined, { ownerFeeds: true });
    this.exec ??= new SessionExecutor(session);
    await work(this.exec);
    await session.idle();
    if (session.closed) {
      this.intercepting = false;
      this.close();
      return false;
    }
    const rest = session.detach();
    this.intercepting = false;
    this.backend.resume();
    if (rest.length) this.opts.log(`proxy: dropping ${rest.length} unexpected bytes from the server: ${rest.toString('hex').slice(0, 80)}`);
    return true;
  }

  /** Handles one command: void when it was relayed or answered at once, a promise when it is not done yet. */
  private command(p: Packet): void | Promise<void> {
    const cmd = p.payload[0];
    if (this.aborted && ABORT_ANSWERED.has(cmd)) {
      const why = this.aborted;
      this.aborted = undefined;
      // ROLLBACK is what the client means to do anyway: let it through.
      if (!(cmd === Command.QUERY && /^\s*ROLLBACK\s*;?\s*$/i.test(p.payload.toString('utf8', 1)))) {
        return this.sendError(p, { errno: ER.LOCK_DEADLOCK, sqlState: '40001', message: why });
      }
    }
    if (cmd !== Command.QUERY && cmd !== Command.STMT_EXECUTE && cmd !== Command.PING) this.notPlainRead();
    switch (cmd) {
      case Command.QUERY:
        return this.query(p);
      case Command.STMT_PREPARE:
        return this.prepare(p);
      case Command.STMT_EXECUTE:
        return this.execute(p);
      case Command.STMT_CLOSE:
        this.statements.delete(p.payload.readUInt32LE(1));
        return this.relay(p);
      case Command.INIT_DB:
        this.writeSession.cache.delete(SESSION_INFO);
        return this.relay(p);
      case Command.RESET_CONNECTION:
        this.writeSession.cache.delete(SESSION_INFO);
        this.statements.clear();
        this.inTxn = false;
        this.autocommit = true;
        this.writeSession.pending = [];
        return this.relay(p);
      case Command.CHANGE_USER:
        return this.sendError(p, { errno: ER.NOT_REPLICATED, sqlState: 'HY000', message: 'OurSQL: COM_CHANGE_USER is not supported; open a new connection' });
      case Command.STMT_BULK_EXECUTE:
        return this.sendError(p, { errno: ER.NOT_REPLICATED, sqlState: 'HY000', message: 'OurSQL: bulk execute is not supported; send the rows one by one or as one multi-row INSERT' });
      default:
        return this.relay(p);
    }
  }

  private query(p: Packet): void | Promise<void> {
    const text = p.payload.toString('utf8', 1);
    let request: SigningRequest = { mode: 'plain', sql: text };
    if (COM_QUERY_WRITE_HINT.test(text)) {
      try {
        request = parseSigningComments(text);
      } catch (e) {
        if (e instanceof SigningCommentError) return this.sendError(p, { errno: ER.BAD_TRANSACTION, sqlState: 'HY000', message: `OurSQL: ${e.message}` });
        throw e;
      }
    }
    let c;
    try {
      c = this.opts.classifier.classify(request.sql);
    } catch (e) {
      return this.sendError(p, toMysqlError(e));
    }
    if (c.kind !== 'read' && c.kind !== 'empty') this.notPlainRead();
    switch (c.kind) {
      case 'read':
      case 'empty':
        this.noteSet(request.sql);
        // The write path caches the session's database and time zone: USE and SET may change them.
        if (USE_OR_SET.test(request.sql)) {
          this.writeSession.cache.delete(SESSION_INFO);
          this.notPlainRead();
        } else this.readStreak++; // a heuristic only: the relay process decides what it relays (isPlainRead)
        return this.relay(p);
      case 'refused':
        return this.sendError(p, { errno: ER.NOT_REPLICATED, sqlState: 'HY000', message: `OurSQL: ${c.reason}` });
      case 'txn':
        return this.transactionControl(p, c.verb, request.sql);
      case 'write':
        return this.write(p, request, c.write);
    }
  }

  /** Tracks `SET autocommit=…` (relayed as is) so writes know whether they are in a transaction. */
  private noteSet(sql: string): void {
    const m = /^\s*SET\s+(?:@@session\.|SESSION\s+|@@)?autocommit\s*=\s*(\w+)/i.exec(sql);
    if (!m) return;
    const on = ['1', 'on', 'true'].includes(m[1].toLowerCase());
    this.autocommit = on;
    if (on && this.writeSession.pending.length === 0) this.inTxn = false;
  }

  private async transactionControl(p: Packet, verb: 'begin' | 'commit' | 'rollback' | 'savepoint', sql: string): Promise<void> {
    if (verb === 'begin') {
      if (this.writeSession.pending.length) {
        // BEGIN inside a transaction commits it implicitly in MySQL: do that through the write path.
        return this.sendError(p, { errno: ER.NOT_REPLICATED, sqlState: 'HY000', message: 'OurSQL: COMMIT or ROLLBACK the open transaction first' });
      }
      this.inTxn = true;
      return this.relay(p);
    }
    if (verb === 'savepoint' || /^\s*ROLLBACK\s+(WORK\s+)?TO\b/i.test(sql)) {
      if (this.writeSession.pending.length) {
        return this.sendError(p, { errno: ER.NOT_REPLICATED, sqlState: 'HY000', message: 'OurSQL: savepoints are not supported in a transaction with updates' });
      }
      return this.relay(p);
    }
    if (verb === 'rollback' || this.writeSession.pending.length === 0) {
      this.writeSession.pending = [];
      this.inTxn = !this.autocommit;
      return this.relay(p);
    }
    // COMMIT of a transaction with updates: they become one blockchain transaction.
    await this.intercept(p, async (exec) => {
      const reply = await this.opts.writes.commit(exec, this.writeSession);
      this.inTxn = !this.autocommit;
      return reply;
    }, () => {
      this.writeSession.pending = [];
      this.inTxn = !this.autocommit;
    });
  }

  private async write(p: Packet, request: SigningRequest, w: WriteStatement): Promise<void> {
    if (this.opts.writes.isUnmanaged(w.table)) return this.relay(p);
    const inTxn = this.inTxn || !this.autocommit;
    if (request.mode === 'prepare') {
      if (inTxn) return this.sendError(p, { errno: ER.CLIENT_SIGNED_IN_TXN, sqlState: 'HY000', message: 'OurSQL: client-signed updates must run with autocommit, outside BEGIN…COMMIT' });
      return this.intercept(p, async (exec) => this.opts.writes.prepare(exec, this.writeSession, w, request.pubkey));
    }
    if (request.mode === 'signed') {
      if (inTxn) return this.sendError(p, { errno: ER.CLIENT_SIGNED_IN_TXN, sqlState: 'HY000', message: 'OurSQL: client-signed updates must run with autocommit, outside BEGIN…COMMIT' });
      return this.intercept(p, (exec) => this.opts.writes.executeSigned(exec, this.writeSession, request.sql, request.data, request.sign));
    }
    if (!this.opts.writes.nodeSigns) {
      return this.sendError(p, {
        errno: ER.NEEDS_SIGNATURE, sqlState: 'HY000',
        message: 'OurSQL: this node has no proxy key, so updates must be signed by you: send the query with /* PUBKEY:<your public key hex>; */, sign the StringToSign it returns, then send it again with /* DATA:<Transaction>; SIGN:<signature>; */',
      });
    }
    if (inTxn) {
      this.inTxn = true;
      return this.intercept(p, (exec) => this.opts.writes.inTransaction(exec, this.writeSession, w));
    }
    return this.intercept(p, (exec) => this.opts.writes.autocommit(exec, this.writeSession, w));
  }

  // ---- prepared statements ----

  private prepare(p: Packet): void {
    const sql = p.payload.toString('utf8', 1);
    let write: PreparedStatement['write'];
    try {
      const request = COM_QUERY_WRITE_HINT.test(sql) ? parseSigningComments(sql) : ({ mode: 'plain', sql } as SigningRequest);
      const c = this.opts.classifier.classify(request.sql);
      if (c.kind === 'refused') return this.sendError(p, { errno: ER.NOT_REPLICATED, sqlState: 'HY000', message: `OurSQL: ${c.reason}` });
      if (c.kind === 'txn') return this.sendError(p, { errno: ER.NOT_REPLICATED, sqlState: 'HY000', message: 'OurSQL: send BEGIN/COMMIT/ROLLBACK as plain queries, not prepared statements' });
      if (c.kind === 'write' && !this.opts.writes.isUnmanaged(c.write.table)) write = { request, statement: c.write };
    } catch (e) {
      return this.sendError(p, toMysqlError(e));
    }
    // MySQL prepares it (checks it, gives the client its metadata); we note the id from the reply.
    this.pendingPrepare = { sql, write };
    this.relay(p);
  }

  private notePrepared(): void {
    const pending = this.pendingPrepare!;
    this.pendingPrepare = undefined;
    const info = this.tracker!.prepared;
    if (!info) return;
    this.statements.set(info.statementId, { sql: pending.sql, paramCount: info.paramCount, types: undefined, write: pending.write });
  }

  private execute(p: Packet): void | Promise<void> {
    const id = p.payload.readUInt32LE(1);
    const stmt = this.statements.get(id);
    // A read stays a read: its bytes go through undecoded (only writes need their bound types).
    if (!stmt?.write) {
      if (stmt) this.readStreak++;
      return this.relay(p);
    }
    this.notPlainRead();
    let sql: string;
    try {
      const req = decodeExecute(p.payload, { paramCount: stmt.paramCount, previousTypes: stmt.types });
      stmt.types = req.types;
      sql = inlineParams(stmt.write.request.sql, req.values);
    } catch (e) {
      return this.sendError(p, { errno: 1210, sqlState: 'HY000', message: `OurSQL: cannot read the parameters of this execute: ${(e as Error).message}` });
    }
    let w: WriteStatement;
    try {
      const c = this.opts.classifier.classify(sql);
      if (c.kind !== 'write') throw new ReplicationError(ER.NOT_REPLICATED, 'OurSQL: the executed statement is not an update');
      w = c.write;
    } catch (e) {
      return this.sendError(p, toMysqlError(e));
    }
    const request: SigningRequest =
      stmt.write.request.mode === 'plain' ? { mode: 'plain', sql } : { ...stmt.write.request, sql };
    return this.write(p, request, w);
  }

  // ---- the proxy's own answers ----

  /**
   * Runs `work` on the client's backend connection through a BackendSession, then answers the
   * client: OK for a write (info "txid …"), a Key/Value result set for a prepared body, ERR on error.
   * It keeps only the command's sequence id: the packet's bytes may be overwritten meanwhile (see
   * onClientData).
   */
  private async intercept(
    p: Pick<Packet, 'lastSeq'>,
    work: (exec: SessionExecutor) => Promise<WriteReply | PreparedTx>,
    onError?: () => void,
  ): Promise<void> {
    let reply: WriteReply | PreparedTx | undefined;
    let error: ReturnType<typeof toMysqlError> | undefined;
    const open = await this.onBackend(async (exec) => {
      try {
        reply = await work(exec);
      } catch (e) {
        error = toMysqlError(e);
        if (error.errno === 1105) this.opts.log(`proxy: ${(e as Error).stack ?? e}`);
        onError?.();
      }
    });
    if (!open) return;
    const exec = this.exec!;
    if (error) return this.sendError(p, error);
    const seq = (p.lastSeq + 1) & 0xff;
    if (reply && 'stringToSign' in reply) {
      const rs = encodeResultSet(
        {
          columns: [{ name: 'Key' }, { name: 'Value' }],
          rows: [['Transaction', reply.transaction], ['StringToSign', reply.stringToSign], ['TxID', reply.txid], ['Text', reply.text]],
        },
        { capabilities: this.caps.capabilities, mariadbCapabilities: this.caps.mariadbCapabilities, status: this.status(exec), seq },
      );
      this.client.write(rs.buffer);
      return;
    }
    const w = reply as WriteReply;
    const ok = encodeOk(
      { affectedRows: w.affectedRows, insertId: w.insertId, status: this.status(exec), info: w.txid ? `txid ${w.txid}` : '' },
      this.caps.capabilities,
    );
    this.client.write(encodePacket(ok, seq));
  }

  /** Server status for our own packets: what MySQL said last, with our view of the transaction. */
  private status(exec: SessionExecutor): number {
    let s = exec.lastStatus & ~(ServerStatus.IN_TRANS | ServerStatus.AUTOCOMMIT | ServerStatus.MORE_RESULTS_EXISTS);
    if (this.autocommit) s |= ServerStatus.AUTOCOMMIT;
    if (this.inTxn) s |= ServerStatus.IN_TRANS;
    return s;
  }

  private sendError(p: Pick<Packet, 'lastSeq'>, e: { errno: number; sqlState: string; message: string }): void {
    this.client.write(encodePacket(encodeErr({ errno: e.errno, sqlState: e.sqlState, message: e.message }), (p.lastSeq + 1) & 0xff));
  }
}
