/** The stored peer list: reading it is open, changing it needs auth (it changes the node). */
import { z } from 'zod';
import { isPeerAddr, normalizePeerAddr, PeerList } from '../../chain/peers.ts';
import { RpcCode } from '../errors.ts';
import { EX } from '../examples.ts';
import { method, type MethodTable } from '../method.ts';
import { Uint } from '../shapes.ts';

const peerParam = z.string().refine(isPeerAddr, 'must be HOST:PORT (a host name, IPv4 or [IPv6], port 1 to 65535)').transform(normalizePeerAddr).describe('HOST:PORT of the peer\'s HTTP port');

const PeerView = z.strictObject({
  addr: z.string(),
  source: z.enum(['added', 'config']),
  added: Uint.nullable(),
  lastSeen: Uint.nullable(),
  score: z.number().int(),
});

export const peerMethods: MethodTable = {
  getpeerinfo: method({
    summary: 'The peers this node knows: those added with `addnode` (stored in `<db>_chain`.peers) and those of its config or `--peer`.',
    params: [],
    schema: z.object({}),
    auth: false,
    returns: '`[{addr, source, added, lastSeen, score}]`: `source` "added" or "config"; times in ms, null when unknown',
    result: z.array(PeerView),
    example: { result: [{ addr: 'peer1.example.org:8765', source: 'added', added: EX.time, lastSeen: null, score: 0 }] },
    run: async (_p, { node }) => {
      const stored = await new PeerList(node.chain.store).list();
      const known = new Set(stored.map((p) => p.addr));
      const fromConfig = [...new Set(node.config.peers.map(normalizePeerAddr))].filter((a) => !known.has(a));
      return [
        ...stored.map((p) => ({ ...p, source: 'added' as const })),
        ...fromConfig.map((addr) => ({ addr, source: 'config' as const, added: null, lastSeen: null, score: 0 })),
      ];
    },
  }),

  addnode: method({
    summary: 'Adds a peer to the stored peer list.',
    params: ['node'],
    schema: z.object({ node: peerParam }),
    auth: true,
    returns: '`{addr, added}`',
    result: z.strictObject({ addr: z.string(), added: Uint }),
    errors: { [RpcCode.NODE_ALREADY_ADDED]: 'the peer is in the list already' },
    example: { params: ['peer1.example.org:8765'], result: { addr: 'peer1.example.org:8765', added: EX.time } },
    run: async (p, { node }) => {
      const peer = await new PeerList(node.chain.store).add(p.node);
      return { addr: peer.addr, added: peer.added };
    },
  }),

  removenode: method({
    summary: 'Removes a peer from the stored peer list.',
    params: ['node'],
    schema: z.object({ node: peerParam }),
    auth: true,
    returns: '`{removed: addr}`',
    result: z.strictObject({ removed: z.string() }),
    errors: { [RpcCode.NODE_NOT_ADDED]: 'the peer is not in the list' },
    example: { params: ['peer1.example.org:8765'], result: { removed: 'peer1.example.org:8765' } },
    run: async (p, { node }) => {
      await new PeerList(node.chain.store).remove(p.node);
      return { removed: p.node };
    },
  }),
};
