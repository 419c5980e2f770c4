/**
 * A read-relay process: client connections that only read are handed here by the node's main
 * process, so their bytes are relayed on another core (see pool.ts). It holds no chain, no key
 * and no SQL parser; whatever is not a plain read goes back to the main process.
 */
import type { Socket } from 'node:net';
import { parseToRelay, type Adopt, type FromRelay } from './messages.ts';
import { RelayedConnection } from './relayed-connection.ts';
import { retire } from './sockets.ts';

/** Sends `m`, with `handle` (whose husk here is destroyed once it went). */
const send = (m: FromRelay, handle?: Socket) => process.send!(m, handle as never, { keepOpen: false }, () => handle && retire(handle));
const log = (msg: string) => send({ t: 'log', msg });
/** An adopted client socket whose backend socket has not come yet (it is the next message). */
const halves = new Map<number, { adopt: Adopt; client: Socket }>();

process.on('message', (raw: unknown, handle?: Socket) => {
  const m = parseToRelay(raw);
  if (!handle) throw new Error(`relay: ${m.t} for connection ${m.id} came without its socket`);
  if (m.t === 'adopt') {
    halves.set(m.id, { adopt: m, client: handle });
    return;
  }
  const half = halves.get(m.id);
  halves.delete(m.id);
  if (!half) throw new Error(`relay: a backend socket for connection ${m.id}, which this process was not given`);
  const { adopt, client } = half;
  const backend = handle;
  const conn = new RelayedConnection(client, backend, {
    caps: adopt.caps, reads: adopt.reads, idleTimeoutMs: adopt.idleTimeoutMs, log,
    closed: () => send({ t: 'closed', id: adopt.id }),
    giveBack: (pending) => {
      send({ t: 'return', id: adopt.id, pending }, client);
      send({ t: 'return-backend', id: adopt.id }, backend);
    },
  });
  conn.start(Buffer.from(adopt.reply));
});

// The main process went away (or stopped us): our connections go with it.
process.on('disconnect', () => process.exit(0));
send({ t: 'ready' });
