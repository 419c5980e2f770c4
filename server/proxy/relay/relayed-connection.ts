import type { Socket } from 'node:net';
import { isPlainRead } from '../../sql/plain-read.ts';
import { Command, PacketReader, ResponseTracker, type NegotiatedCapabilities, type Packet } from '../wire/index.ts';
import { forget, stopReading, unsent } from './sockets.ts';

export interface RelayedOptions {
  caps: NegotiatedCapabilities;
  /** Ids of the connection's prepared statements that read. */
  reads: readonly number[];
  idleTimeoutMs: number;
  /** Gives the connection back to the main process with the client's bytes not relayed here. */
  giveBack(pending: Buffer): void;
  closed(): void;
  log(msg: string): void;
}

/**
 * A client connection in a read-relay process: plain reads (a SELECT-like query with no SET, USE
 * or signing comment; an execute of a statement prepared as a read; a ping) are relayed as bytes
 * exactly as the main process relays them. The first command of any other kind, and everything
 * after it, goes back to the main process untouched, so every decision about updates, sessions
 * and transactions stays there.
 */
export class RelayedConnection {
  private readonly reader = new PacketReader();
  private readonly tracker: ResponseTracker;
  private readonly reads: Set<number>;
  private queue: Packet[] = [];
  private relaying = false;
  private done = false;
  private lastActive = Date.now();
  private idleTimer?: NodeJS.Timeout;

  constructor(private readonly client: Socket, private readonly backend: Socket, private readonly opts: RelayedOptions) {
    this.tracker = new ResponseTracker(opts.caps);
    this.reads = new Set(opts.reads);
    client.setNoDelay(true);
    backend.setNoDelay(true);
    client.on('data', (c: Buffer) => this.onClient(c));
    backend.on('data', (c: Buffer) => this.onBackend(c));
    client.on('drain', () => backend.resume());
    backend.on('drain', () => this.drained());
    client.on('drain', () => this.drained());
    for (const s of [client, backend]) {
      s.on('error', () => this.close());
      s.on('close', () => this.close());
    }
    this.armIdle(opts.idleTimeoutMs);
  }

  /** First the reply the main process held back (the client waits for it), then the client's commands. */
  start(reply: Buffer): void {
    if (reply.length) this.client.write(reply);
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.idleTimer);
    this.client.destroy();
    this.backend.destroy();
    this.opts.closed();
  }

  private armIdle(ms: number): void {
    this.idleTimer = setTimeout(() => {
      const idle = Date.now() - this.lastActive;
      if (idle >= this.opts.idleTimeoutMs && !this.relaying) {
        this.opts.log('proxy: closing an idle connection');
        this.close();
      } else this.armIdle(idle < this.opts.idleTimeoutMs ? this.opts.idleTimeoutMs - idle : this.opts.idleTimeoutMs);
    }, ms);
    this.idleTimer.unref();
  }

  private onClient(chunk: Buffer): void {
    this.lastActive = Date.now();
    try {
      for (const p of this.reader.push(chunk)) this.queue.push(p);
    } catch (e) {
      this.opts.log(`proxy: malformed packet from client: ${(e as Error).message}`);
      return this.close();
    }
    this.pump();
  }

  private pump(): void {
    while (!this.done && !this.relaying && this.queue.length) {
      const p = this.queue[0];
      if (!this.relayable(p)) return this.giveBack();
      this.queue.shift();
      const cmd = p.payload[0];
      this.relaying = this.tracker.start(cmd);
      this.backend.write(p.raw);
      if (cmd === Command.QUIT) return this.close();
    }
  }

  private relayable(p: Packet): boolean {
    switch (p.payload[0]) {
      case Command.PING:
      case Command.QUIT:
        return true;
      case Command.STMT_EXECUTE:
        return p.payload.length >= 5 && this.reads.has(p.payload.readUInt32LE(1));
      case Command.QUERY:
        return isPlainRead(p.payload.toString('utf8', 1));
      default:
        return false;
    }
  }

  private onBackend(chunk: Buffer): void {
    if (!this.relaying) {
      // Unexpected bytes between commands (the server is shutting down, say): the client gets them.
      this.client.write(chunk);
      return;
    }
    const r = this.tracker.feed(chunk);
    if (!this.client.write(r.consumed === chunk.length ? chunk : chunk.subarray(0, r.consumed))) this.backend.pause();
    if (r.done) {
      this.relaying = false;
      this.pump();
    }
  }

  /** A hand-back waits for queued writes: bytes queued here would not travel with the sockets. */
  private drained(): void {
    if (!this.relaying && this.queue.length && !this.relayable(this.queue[0])) this.giveBack();
  }

  private giveBack(): void {
    if (this.done || unsent(this.client, this.backend)) return;
    stopReading(this.client);
    stopReading(this.backend);
    const pending = Buffer.concat([...this.queue.map((p) => p.raw), this.reader.takePending()]);
    this.queue = [];
    this.done = true;
    clearTimeout(this.idleTimer);
    forget(this.client);
    forget(this.backend);
    this.opts.giveBack(pending);
  }
}
