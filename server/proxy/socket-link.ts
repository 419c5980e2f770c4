import { connect, Socket } from 'node:net';
import type { MysqlTarget } from '../mysql/url.ts';

/**
 * A link starts with a small buffer: most commands and answers are a few hundred bytes, and a
 * client that connects per request (a PHP page) would otherwise cost 64 KiB of fresh memory a
 * side. A read that fills it moves the link to Node's own read size, 64 KiB.
 */
const FIRST_READ_SIZE = 4 * 1024;
const READ_SIZE = 64 * 1024;

type Handle = { readStart?: () => number };

/**
 * One side of a proxied connection, read into one reused buffer (Node's `onread`). Node then
 * makes no Buffer and emits no stream event per read: on relayed reads that is a few µs of the
 * proxy's CPU per query, on each side.
 *
 * `onChunk` gets a view that is valid only until it returns. A receiver that keeps it (a queued
 * write of it, a partial packet) calls `keep()`: the next read then goes to a new buffer.
 */
export class SocketLink {
  readonly socket: Socket;
  onChunk: (view: Buffer) => void = () => {};
  private buffer = Buffer.allocUnsafeSlow(FIRST_READ_SIZE);
  private kept = false;
  private size = FIRST_READ_SIZE;

  /** The client's backend connection. The client's login is relayed: over TCP whenever the server has an address (see MysqlTarget). */
  static connect(target: MysqlTarget): SocketLink {
    return new SocketLink((onread) =>
      target.socketPath && target.host === undefined
        ? connect({ path: target.socketPath, onread })
        : connect({ port: target.port ?? 3306, host: target.host ?? '127.0.0.1', onread }));
  }

  /**
   * A socket a `net.Server` accepted with `pauseOnConnect` (no read has been made on it): its
   * handle moves to a socket that reads with `onread`, which Node offers only to sockets it
   * creates itself. The accepted socket is destroyed without its handle, which gives the server
   * its connection count back.
   */
  static accepted(accepted: Socket): SocketLink {
    const husk = accepted as unknown as { _handle: Handle | null };
    const handle = husk._handle;
    if (!handle) throw new Error('the accepted socket has no handle');
    husk._handle = null;
    accepted.destroy();
    return new SocketLink((onread) => new Socket({ handle, onread, readable: true, writable: true } as ConstructorParameters<typeof Socket>[0]));
  }

  /** A socket that another process relayed for a while (see relay/): its reads are plain `data` events. */
  static adopt(socket: Socket): SocketLink {
    const link = new SocketLink(() => socket);
    socket.on('data', (chunk: Buffer) => link.onChunk(chunk));
    return link;
  }

  private constructor(open: (onread: { buffer: () => Buffer; callback: (n: number, buf: Uint8Array) => boolean }) => Socket) {
    this.socket = open({
      buffer: () => {
        if (this.kept || this.buffer.length < this.size) {
          this.buffer = Buffer.allocUnsafeSlow(this.size);
          this.kept = false;
        }
        return this.buffer;
      },
      // true: keep reading (pausing is done with socket.pause(), which onread sockets honour)
      callback: (n, buf) => {
        if (n === buf.length) this.size = READ_SIZE;
        this.onChunk((buf as Buffer).subarray(0, n));
        return true;
      },
    });
  }

  /** The last view is still referenced: the next read must not overwrite it. */
  keep(): void {
    this.kept = true;
  }
}
