/** The stored peer list: reading it is open, changing it needs auth (it changes the node). */
import { z } from 'zod';
import { isPeerAddr, normalizePeerAddr, PeerList } from '../../chain/peers.ts';
import { RpcCode } from '../errors.ts';
import { EX } from '../examples.ts';
import { method, type MethodTable } from '../method.ts';
import { Hash, Uint } from '../shapes.ts';

const peerParam = z.string().refine(isPeerAddr, 'must be HOST:PORT (a host name, IPv4 or [IPv6], port 1 to 65535)').transform(normalizePeerAddr).describe('HOST:PORT of the peer\'s HTTP port');

const PeerView = z.strictObject({
  addr: z.string(),
  source: z.enum(['added', 'config', 'discovered']),
  added: Uint.nullable(),
  lastSeen: Uint.nullable(),
  score: z.number().int(),
  connected: z.boolean(),
  height: Uint.nullable(),
  banned: z.boolean(),
  diverged: z.strictObject({ height: Uint, block: Hash, ours: Hash, theirs: Hash, at: Uint }).nullable(),
});

export const peerMethods: MethodTable = {
  getpeerinfo: method({
    summary: 'The peers this node knows: those added with `addnode` (stored in `<db>_chain`.peers), those of its config, `--peer` or the consensus `InitNodesAddreses`, and those it learned from peers; with their live state.',
    params: [],
    schema: z.object({}),
    auth: false,
    returns: '`[{addr, source, added, lastSeen, score, connected, height, banned, diverged}]`: `source` "added", "config" or "discovered"; times in ms, null when unknown; `score` counts misbehaviour (dropped at 100); `diverged` the last block at which the peer\'s state digest differed from this node\'s (its data differs there), else null',
    result: z.array(PeerView),
    example: { result: [{ addr: 'peer1.example.org:8765', source: 'added', added: EX.time, lastSeen: EX.time, score: 0, connected: true, height: 42, banned: false, diverged: null }] },
    run: async (_p, { node }) => {
      const live = new Map((node.peers?.list() ?? []).map((p) => [p.addr, p]));
      const state = (addr: string) => {
        const p = live.get(addr);
        return {
          connected: p?.connected ?? false, height: p?.connected ? p.height : null, banned: p?.banned ?? false, lastSeen: p?.lastSeen ?? null, score: p?.score ?? 0,
          diverged: p?.diverged ?? null,
        };
      };
      const stored = await new PeerList(node.chain.store).list();
      const seen = new Set(stored.map((p) => p.addr));
      const configured = [...new Set([...node.config.peers, ...node.consensus.initNodes].map(normalizePeerAddr))].filter((a) => !seen.has(a));
      configured.forEach((a) => seen.add(a));
      const discovered = [...live.keys()].filter((a) => !seen.has(a));
      return [
        ...stored.map((p) => ({ ...p, ...state(p.addr), lastSeen: live.get(p.addr)?.lastSeen ?? p.lastSeen, source: 'added' as const })),
        ...configured.map((addr) => ({ addr, source: 'config' as const, added: null, ...state(addr) })),
        ...discovered.map((addr) => ({ addr, source: 'discovered' as const, added: null, ...state(addr) })),
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
      node.peers?.add(peer.addr);
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
      node.peers?.remove(p.node);
      return { removed: p.node };
    },
  }),
};
