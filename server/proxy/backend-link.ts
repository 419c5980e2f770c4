import { connect, type Socket } from 'node:net';
import type { MysqlTarget } from '../mysql/url.ts';

/** As large as Node's own read buffer: one read takes whatever the kernel holds. */
const READ_SIZE = 64 * 1024;

/**
 * A client's backend connection, read into one reused buffer (Node's `onread`). Node then makes
 * no Buffer and emits no stream event per read: on relayed reads that is a few µs of the
 * proxy's CPU per query.
 *
 * `onChunk` gets a view that is valid only until it returns. A receiver that keeps it (a queued
 * write of it) calls `keep()`: the next read then goes to a new buffer.
 */
export class BackendLink {
  readonly socket: Socket;
  onChunk: (view: Buffer) => void = () => {};
  private buffer = Buffer.allocUnsafeSlow(READ_SIZE);
  private kept = false;

  constructor(target: MysqlTarget);
  /** A connection that another process relayed for a while (see relay/): its reads are plain `data` events. */
  constructor(adopted: Socket);
  constructor(from: MysqlTarget | Socket) {
    if ('write' in from) {
      this.socket = from;
      from.on('data', (chunk: Buffer) => this.onChunk(chunk));
      return;
    }
    const onread = {
      buffer: () => {
        if (this.kept) {
          this.buffer = Buffer.allocUnsafeSlow(READ_SIZE);
          this.kept = false;
        }
        return this.buffer;
      },
      // true: keep reading (pausing is done with socket.pause(), which onread sockets honour)
      callback: (n: number, buf: Uint8Array) => {
        this.onChunk((buf as Buffer).subarray(0, n));
        return true;
      },
    };
    // The client's login is relayed: over TCP whenever the server has an address (see MysqlTarget).
    this.socket = from.socketPath && from.host === undefined
      ? connect({ path: from.socketPath, onread })
      : connect({ port: from.port ?? 3306, host: from.host ?? '127.0.0.1', onread });
  }

  /** The last view is still referenced: the next read must not overwrite it. */
  keep(): void {
    this.kept = true;
  }
}
