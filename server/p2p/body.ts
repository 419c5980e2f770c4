/** Reading a peer message's body (a request on the server side, an answer on the client side) within the size limit. */
import type { IncomingMessage } from 'node:http';

/** The body is over the limit: `declared` when its Content-Length said so before any byte was read. */
export class BodyTooLarge extends Error {
  override name = 'BodyTooLarge';
  constructor(readonly limit: number, readonly declared?: number) {
    super(`${declared === undefined ? '' : `${declared} bytes, `}over the ${limit}-byte limit`);
  }
}

/** The other side hung up before the body's end. */
export class BodyBrokenOff extends Error {
  override name = 'BodyBrokenOff';
}

/**
 * The body as UTF-8 text. Over `limit` it stops collecting and rejects with BodyTooLarge; the caller
 * decides what happens to the connection (a server still answers on it, a client drops it).
 */
export function readBody(msg: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(msg.headers['content-length'] ?? 0);
    if (declared > limit) return reject(new BodyTooLarge(limit, declared));
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      msg.off('data', onData);
      chunks.length = 0;
      reject(new BodyTooLarge(limit));
    };
    msg.on('data', onData);
    msg.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    msg.on('error', (e: NodeJS.ErrnoException) => reject(new BodyBrokenOff(e.code ?? e.message)));
    msg.on('close', () => !msg.complete && reject(new BodyBrokenOff('closed')));
  });
}
