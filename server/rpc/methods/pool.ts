/** Transactions and the pool: lookups are open, cancelling needs auth. */
import { z } from 'zod';
import { isCoinbase } from '../../../consensus/index.ts';
import { RpcCode, RpcError } from '../errors.ts';
import { EX, exampleTransfer, exampleTransferSig, exampleTxid } from '../examples.ts';
import { hex64, method, type MethodTable } from '../method.ts';
import { Address, Body, Hash, Hex, PoolEntryView, PoolView, Uint } from '../shapes.ts';
import { confirmations, poolEntryView, senderOf, txWire } from '../views.ts';

export const poolMethods: MethodTable = {
  getrawmempool: method({
    summary: 'Pending txids in pool order; verbose: an object of details by txid.',
    params: ['verbose'],
    schema: z.object({ verbose: z.boolean().default(false) }),
    auth: false,
    returns: '`[txid]` in pool order; verbose: `{txid: {from, amount, out, spends, cost, time, added, sql, depends}}` (coins)',
    result: z.union([z.array(Hash), z.record(Hash, PoolEntryView.omit({ txid: true }).extend({ depends: z.array(Hash) }))]),
    example: { params: [false], result: [exampleTxid] },
    run: (p, { node }) => {
      const entries = node.chain.pool.list();
      if (!p.verbose) return entries.map((e) => e.tx.id);
      const pending = new Set(entries.map((e) => e.tx.id));
      return Object.fromEntries(
        entries.map((e) => {
          const { txid: _txid, ...details } = poolEntryView(e);
          // Pending txs this one spends from: they must be mined first (or with it).
          const depends = isCoinbase(e.tx.body) ? [] : [...new Set(e.tx.body.in.map((i) => i.tx).filter((t) => pending.has(t)))];
          return [e.tx.id, { ...details, depends }];
        }),
      );
    },
  }),

  getpool: method({
    summary: 'The pool for people: each pending tx with sender, amount and outputs in coins.',
    params: [],
    schema: z.object({}),
    auth: false,
    returns: '`{size, txs:[{txid, from, amount, out:[{to, amount}], spends, cost, time, added, sql}], dropped:[{txid, reason, at, rebase?}]}` (coins); `dropped`: the last txs a fork switch or pool rebuild took out, and why; `rebase`, for this node\'s own SQL writes it runs again on the new chain (SPEC 8): "to re-base", "re-based as TXID", "not re-based: …" or "could not re-base: …"',
    result: PoolView,
    example: {
      result: {
        size: 1,
        txs: [{
          txid: exampleTxid, from: EX.alice, amount: '1.5', out: [{ to: EX.bob, amount: '1.5' }, { to: EX.alice, amount: '8.5' }],
          spends: '10', cost: '0', time: EX.time, added: EX.time + 12,
        }],
        dropped: [{
          txid: exampleTxid.replace(/^./, 'b'), reason: 'row notes:1 was changed by another transaction since this one was prepared', at: EX.time + 40,
          rebase: `re-based as ${exampleTxid.replace(/^./, 'c')}`,
        }],
      },
    },
    run: (_p, { node }) => {
      const txs = node.chain.pool.list().map(poolEntryView);
      const dropped = node.chain.recentlyDropped.map((d) => ({ txid: d.tx.id, reason: d.reason, at: d.at, ...(d.rebase !== undefined && { rebase: d.rebase }) }));
      return { size: txs.length, txs, dropped };
    },
  }),

  gettransaction: method({
    summary: 'A transaction in the active chain (with its block) or in the pool.',
    params: ['txid'],
    schema: z.object({ txid: hex64 }),
    auth: false,
    returns: '`{txid, body, sig, from, status:"pool", confirmations:0}` or `{…, status:"confirmed", blockhash, height, position, confirmations}`; `from` is the signer\'s address (null for a coinbase)',
    result: z.union([
      z.strictObject({ txid: Hash, body: Body, sig: Hex.optional(), from: Address.nullable(), status: z.literal('pool'), confirmations: z.literal(0) }),
      z.strictObject({
        txid: Hash, body: Body, sig: Hex.optional(), from: Address.nullable(), status: z.literal('confirmed'), blockhash: Hash, height: Uint,
        position: Uint, confirmations: Uint,
      }),
    ]),
    errors: { [RpcCode.INVALID_ADDRESS_OR_KEY]: 'neither in the active chain nor in the pool' },
    example: {
      params: [exampleTxid],
      result: {
        txid: exampleTxid, body: exampleTransfer, sig: exampleTransferSig, from: EX.alice, status: 'confirmed', blockhash: EX.block1, height: 1,
        position: 1, confirmations: 1,
      },
    },
    run: async (p, { node }) => {
      const { chain } = node;
      const pooled = chain.pool.get(p.txid);
      if (pooled) return { ...txWire(pooled.tx), from: pooled.from, status: 'pool', confirmations: 0 };
      const at = await chain.txLocation(p.txid);
      const tx = at && (await chain.getChainTxs([p.txid])).get(p.txid);
      if (!at || !tx) throw new RpcError(RpcCode.INVALID_ADDRESS_OR_KEY, `transaction ${p.txid} is neither in the chain nor in the pool`);
      return {
        ...txWire(tx),
        from: senderOf(tx),
        status: 'confirmed',
        blockhash: chain.blockHashAt(at.height),
        height: at.height,
        position: at.pos,
        confirmations: confirmations(chain, at.height, true),
      };
    },
  }),

  canceltx: method({
    summary: 'Drops a pending tx and the pending txs that spend its outputs.',
    params: ['txid'],
    schema: z.object({ txid: hex64 }),
    auth: true,
    returns: '`{removed:[txid]}`: the tx and the pending txs that spend its outputs',
    result: z.strictObject({ removed: z.array(Hash) }),
    errors: { [RpcCode.INVALID_ADDRESS_OR_KEY]: 'not in the pool' },
    example: { params: [exampleTxid], result: { removed: [exampleTxid] } },
    run: async (p, { node }) => {
      const removed = await node.chain.cancel(p.txid);
      return { removed };
    },
  }),
};
