/**
 * Read-relay processes: the node's main thread relays every proxied read itself, and on a busy
 * node its one core is the limit (most of its time goes to the socket writes of the relay). A
 * connection that has only read for a while is handed, sockets and all, to one of these
 * processes, round robin with the main process itself; it comes back at its first command that is
 * not a plain read. See docs/sql.md, "Read-relay processes".
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import type { NegotiatedCapabilities } from '../wire/index.ts';
import { parseFromRelay, type FromRelay, type ToRelay } from './messages.ts';
import { forget, retire, stopReading } from './sockets.ts';

const ENTRY = new URL('./worker-entry.js', import.meta.url);
/** A process that died this many times in a row is not started again: the main thread relays all. */
const MAX_FAILURES = 3;

/**
 * The config's `proxyRelayProcesses`. "auto": half the cores but the main process's, at most 4,
 * and none below 4 cores: on 2 cores the clients and MySQL already take the second core, and a
 * relay process there cost ~30% more CPU per read for no more reads (docs/sql.md).
 */
export function relayProcessCount(setting: 'auto' | number): number {
  return setting === 'auto' ? Math.max(0, Math.min(4, Math.floor(availableParallelism() / 2) - 1)) : setting;
}

/** What the pool needs of a connection it moves (ProxyConnection). */
export interface Movable {
  /** The connection is back: its new sockets, and the client bytes the relay did not relay. */
  returned(client: Socket, backend: Socket, pending: Buffer): void;
  /** The connection ended in a relay process. */
  endedAway(): void;
}

export interface HandOff {
  client: Socket;
  backend: Socket;
  caps: NegotiatedCapabilities;
  reads: number[];
  reply: Buffer;
  idleTimeoutMs: number;
}

class RelayProcess {
  readonly child: ChildProcess;
  ready = false;
  exited = false;
  readonly away = new Map<number, Movable>();
  private readonly returning = new Map<number, { client: Socket; pending: Buffer }>();

  constructor(private readonly pool: ReadRelayPool, private readonly log: (msg: string) => void) {
    this.child = fork(ENTRY, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
    this.child.on('message', (raw: unknown, handle?: Socket) => this.onMessage(raw, handle));
    this.child.on('error', (e) => this.log(`proxy: read-relay process: ${e.message}`));
    this.child.on('exit', (code, signal) => this.onExit(code, signal));
    // an idle node's process must not be kept alive by its helpers (they stop with the node anyway)
    this.unref();
  }

  private unref(): void {
    this.child.unref();
    (this.child.channel as { unref(): void } | undefined)?.unref();
  }

  private onMessage(raw: unknown, handle?: Socket): void {
    let m: FromRelay;
    try {
      m = parseFromRelay(raw);
    } catch (e) {
      this.log(`proxy: ${(e as Error).message}`);
      return;
    }
    switch (m.t) {
      case 'ready':
        this.ready = true;
        this.pool.started();
        return;
      case 'log':
        return this.log(m.msg);
      case 'closed': {
        const conn = this.away.get(m.id);
        this.away.delete(m.id);
        conn?.endedAway();
        return;
      }
      case 'return':
        if (handle) this.returning.set(m.id, { client: handle, pending: Buffer.from(m.pending) });
        return;
      case 'return-backend': {
        const half = this.returning.get(m.id);
        this.returning.delete(m.id);
        const conn = this.away.get(m.id);
        this.away.delete(m.id);
        if (!conn || !half || !handle) {
          // a half that cannot be matched: neither socket may stay open unowned
          half?.client.destroy();
          handle?.destroy();
          return conn?.endedAway();
        }
        conn.returned(half.client, handle, half.pending);
        return;
      }
    }
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited = true;
    if (!this.pool.closing) this.log(`proxy: a read-relay process exited (${signal ?? code}); its ${this.away.size} connection(s) are closed`);
    for (const conn of this.away.values()) conn.endedAway();
    this.away.clear();
    for (const r of this.returning.values()) r.client.destroy();
    this.returning.clear();
    this.pool.exited(this);
  }

  send(id: number, conn: Movable, h: HandOff): void {
    this.away.set(id, conn);
    // called once the socket went (a second handle waits for the child's ack of the first)
    const sent = (s: Socket) => (e: Error | null) => {
      retire(s);
      if (!e || !this.away.has(id)) return;
      this.log(`proxy: could not hand a connection to a read-relay process: ${e.message}`);
      this.away.delete(id);
      conn.endedAway();
    };
    stopReading(h.client);
    stopReading(h.backend);
    forget(h.client);
    forget(h.backend);
    const adopt: ToRelay = { t: 'adopt', id, caps: h.caps, reads: h.reads, reply: h.reply, idleTimeoutMs: h.idleTimeoutMs };
    this.child.send(adopt, h.client as never, { keepOpen: false }, sent(h.client));
    this.child.send({ t: 'adopt-backend', id } satisfies ToRelay, h.backend as never, { keepOpen: false }, sent(h.backend));
  }

  stop(): Promise<void> {
    if (this.exited) return Promise.resolve();
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill();
    return gone;
  }
}

export class ReadRelayPool {
  private readonly procs: (RelayProcess | undefined)[];
  private turn = 0;
  private nextId = 0;
  private failures = 0;
  closing = false;

  /** `size` relay processes besides the main one; 0 relays everything on the main thread. */
  constructor(readonly size: number, private readonly log: (msg: string) => void) {
    this.procs = new Array(size).fill(undefined);
  }

  /** Connections being relayed in other processes right now. */
  get awayCount(): number {
    return this.procs.reduce((n, p) => n + (p?.away.size ?? 0), 0);
  }

  /**
   * Where a connection that only reads goes next, round robin over this process and the relays:
   * 'here', a relay to hand it to, or 'later' while that relay is still starting (started on
   * first need, so a node whose clients never read in bulk starts none).
   */
  place(): 'here' | 'later' | RelayProcess {
    if (this.size === 0 || this.closing || this.failures >= MAX_FAILURES) return 'here';
    const slot = this.turn % (this.size + 1);
    if (slot === 0) {
      this.turn++;
      return 'here';
    }
    let p = this.procs[slot - 1];
    if (!p || p.exited) p = this.procs[slot - 1] = new RelayProcess(this, this.log);
    if (!p.ready) return 'later';
    this.turn++;
    return p;
  }

  handOff(to: RelayProcess, conn: Movable, h: HandOff): void {
    to.send(++this.nextId, conn, h);
  }

  started(): void {
    this.failures = 0;
  }

  exited(p: RelayProcess): void {
    if (this.closing) return;
    if (!p.ready) this.failures++;
    const i = this.procs.indexOf(p);
    if (i >= 0) this.procs[i] = undefined;
    if (this.failures >= MAX_FAILURES) this.log('proxy: read-relay processes fail to start; the main thread relays every read');
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.procs.map((p) => p?.stop()));
  }
}

export type { RelayProcess };
