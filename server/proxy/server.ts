import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { MysqlTarget } from '../mysql/url.ts';
import { SqlClassifier } from '../sql/classify.ts';
import type { OpenTransactions } from '../chain/engine.ts';
import { SocketLink } from './socket-link.ts';
import { ProxyConnection, type WriteHandler } from './connection.ts';
import { ReadRelayPool } from './relay/pool.ts';
import { encodeErr, encodePacket } from './wire/index.ts';

export interface ProxyOptions {
  backend: MysqlTarget;
  writes: WriteHandler;
  log?: (msg: string) => void;
  maxConnections?: number;
  idleTimeoutMs?: number;
  /** Processes besides the main one that relay connections which only read (0: none). */
  relayProcesses?: number;
}

/**
 * The MySQL proxy: one backend connection per client, handshake relayed (so login uses the
 * backend's users), reads relayed as bytes, updates replicated (SPEC 5).
 */
export class ProxyServer implements OpenTransactions {
  private server?: Server;
  private readonly connections = new Set<ProxyConnection>();
  private readonly classifier = new SqlClassifier();
  private readonly log: (msg: string) => void;
  private readonly relays: ReadRelayPool;

  constructor(private readonly opts: ProxyOptions) {
    this.log = opts.log ?? (() => {});
    this.relays = new ReadRelayPool(opts.relayProcesses ?? 0, this.log);
  }

  /** Client connections relayed by read-relay processes right now. */
  get relayedCount(): number {
    return this.relays.awayCount;
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }
  get connectionCount(): number {
    return this.connections.size;
  }

  async listen(port: number, host: string): Promise<void> {
    // paused: the accepted socket's handle moves to one that reads into a reused buffer (SocketLink.accepted)
    const server = createServer({ pauseOnConnect: true }, (client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
  }

  private accept(client: Socket): void {
    if (this.connections.size >= (this.opts.maxConnections ?? 500)) {
      // ER_CON_COUNT_ERROR, as MySQL says it, before any handshake.
      client.resume(); // accepted paused: read, so the client's close is seen
      client.end(encodePacket(encodeErr({ errno: 1040, sqlState: '08004', message: 'Too many connections to the OurSQL proxy' }), 0));
      return;
    }
    let clientLink: SocketLink;
    try {
      clientLink = SocketLink.accepted(client);
    } catch (e) {
      // a socket closed before it could be taken over: nothing to serve
      this.log(`proxy: dropped a client connection: ${(e as Error).message}`);
      client.destroy();
      return;
    }
    const backend = SocketLink.connect(this.opts.backend);
    const conn: ProxyConnection = new ProxyConnection(clientLink, backend, {
      classifier: this.classifier,
      writes: this.opts.writes,
      log: this.log,
      idleTimeoutMs: this.opts.idleTimeoutMs ?? 8 * 3600_000,
      relays: this.relays.size > 0 ? this.relays : undefined,
      onClosed: () => this.connections.delete(conn),
    });
    this.connections.add(conn);
    backend.socket.once('error', (e) => this.log(`proxy: backend connection failed: ${e.message}`));
  }

  holds(refs: readonly string[]): boolean {
    for (const c of this.connections) if (c.holdsRows(refs)) return true;
    return false;
  }

  async rollBack(refs: ReadonlySet<string> | 'all', why: string): Promise<void> {
    await Promise.all([...this.connections].filter((c) => c.holdsAnyOf(refs)).map((c) => c.abortTransaction(why)));
  }

  async close(): Promise<void> {
    // first the relay processes: the server's close waits for the connections they hold
    await this.relays.close();
    for (const c of this.connections) c.close();
    this.connections.clear();
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
