import type { Socket } from 'node:net';

/**
 * Stops the kernel reads of a socket about to be sent to another process, now. Node's `pause()`
 * does this only for `onread` sockets; others keep reading into the stream's buffer, and bytes
 * read after the socket was handed over (a pipelining client's next command) would be lost.
 */
export function stopReading(s: Socket): void {
  s.pause();
  const handle = (s as unknown as { _handle?: { reading?: boolean; readStop?: () => number } })._handle;
  if (handle?.reading && handle.readStop) {
    handle.reading = false;
    handle.readStop();
  }
}

/**
 * Our listeners off a socket whose handle goes to another process (its object here is dead).
 *
 * A socket that a `net.Server` accepted is sent cluster-style: Node then asks the child at
 * `server.close()` to close it, and that close never completes once the child has exited (it
 * waits for children no longer listed). So the socket goes as a plain one (`server` unset); its
 * husk is destroyed once sent (`retire`), which gives the server its connection count back.
 */
export function forget(s: Socket): void {
  s.removeAllListeners();
  s.on('error', () => {});
  (s as unknown as { server: unknown }).server = null;
}

/** Once sent (the send's callback: a queued handle is converted only then), the husk goes; it holds no handle, so nothing is closed. */
export function retire(s: Socket): void {
  s.destroy();
}

/** Bytes still queued in user space on either socket: they would be lost with the handle. */
export const unsent = (...s: Socket[]): boolean => s.some((x) => x.writableLength > 0);
