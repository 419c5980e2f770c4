/**
 * The two-step flow for key holders (SPEC 5 and 7), open like the proxy's PUBKEY/DATA comments:
 * step one builds the body to sign (nothing is executed or pooled), step two takes it back with a
 * signature made where the key lives. The node never sees a private key.
 */
import { z } from 'zod';
import {
  checkAddress, coinsToUnits, ConsensusError, normalizePublicKey, prepareTx, sqlOf, txFromPrepared,
} from '../../../consensus/index.ts';
import { buildTransfer } from '../../chain/send.ts';
import type { OursqlNode } from '../../node/node.ts';
import { SqlClassifier } from '../../sql/classify.ts';
import type { SqlExecutor } from '../../sql/executor.ts';
import { mysql2Executor } from '../../sql/mysql-executor.ts';
import type { WriteSession } from '../../sql/replicate.ts';
import { RpcCode, RpcError } from '../errors.ts';
import { EX, exampleSqlPrepared, exampleTransferPrepared, exampleTransferSig } from '../examples.ts';
import { addressParam, coinsParam, method, type MethodTable } from '../method.ts';
import { Hash, Prepared, Uint } from '../shapes.ts';

const hexParam = z.string().regex(/^(?:[0-9a-fA-F]{2})+$/, 'must be hex').transform((s) => s.toLowerCase());

/** Runs `fn` on a connection of the node's own, on its application database, as the `sql` method does. */
async function onNodeConnection<T>(node: OursqlNode, fn: (exec: SqlExecutor, session: WriteSession) => Promise<T>): Promise<T> {
  const conn = await node.mysql.getConnection();
  try {
    return await fn(mysql2Executor(conn), { pending: [], cache: new Map() });
  } finally {
    conn.release();
  }
}

const stepOneErrors = {
  [RpcCode.INVALID_ADDRESS_OR_KEY]: '`bad-key`, `bad-address`',
};

export const twoStepMethods: MethodTable = {
  preparesend: method({
    summary: 'Step one of a transfer by a key holder: the unsigned body paying `amount` coins to `to` from the coins of `from` (a public key), with change back to it.',
    params: ['from', 'to', 'amount'],
    schema: z.object({ from: z.string().describe('public key of the payer, hex (33 or 65 bytes)'), to: addressParam, amount: coinsParam }),
    auth: false,
    returns: '`{transaction, stringToSign, txid, text}`: sign `stringToSign` (ECDSA secp256k1 over its SHA-256, DER or compact hex) and pass it to `submitsigned`',
    result: Prepared,
    errors: { ...stepOneErrors, [RpcCode.TYPE_ERROR]: '`bad-amount`', [RpcCode.INSUFFICIENT_FUNDS]: '`insufficient-funds`' },
    example: { params: { from: EX.alicePubkey, to: EX.bob, amount: '1.5' }, result: exampleTransferPrepared },
    run: async (p, { node }) => {
      const from = normalizePublicKey(p.from);
      const to = checkAddress(p.to, 'recipient');
      return prepareTx(await buildTransfer(node.chain, from, to, coinsToUnits(p.amount)));
    },
  }),

  preparesql: method({
    summary: 'Step one of an update by a key holder: runs the statement in a transaction that is rolled back (DDL is only planned) and returns the body to sign, as the proxy\'s `/* PUBKEY:… */` does.',
    params: ['pubkey', 'sql'],
    schema: z.object({ pubkey: z.string().describe('public key of the signer, hex (33 or 65 bytes)'), sql: z.string().min(1).describe('one statement') }),
    auth: false,
    returns: '`{transaction, stringToSign, txid, text}`, as `preparesend`; the body\'s statement is the update made deterministic (ids, times as literals)',
    result: Prepared,
    errors: {
      ...stepOneErrors,
      [RpcCode.INVALID_PARAMETER]: 'not one replicated update (a read, a transaction statement, a refused statement or an unmanaged table)',
      [RpcCode.MISC_ERROR]: 'SQL errors, with `data: {errno, sqlState}`',
      [RpcCode.INSUFFICIENT_FUNDS]: 'the statement costs more coins than the signer has',
    },
    example: { params: { pubkey: EX.alicePubkey, sql: "INSERT INTO notes (body) VALUES ('hello')" }, result: exampleSqlPrepared },
    run: async (p, { node }) => {
      const pubkey = normalizePublicKey(p.pubkey);
      const c = new SqlClassifier().classify(p.sql);
      if (c.kind === 'refused') throw new RpcError(RpcCode.INVALID_PARAMETER, `OurSQL: ${c.reason}`, { kind: c.kind });
      if (c.kind !== 'write') {
        throw new RpcError(RpcCode.INVALID_PARAMETER, 'only a replicated update (INSERT, UPDATE, DELETE, REPLACE, DDL) is signed: send reads to MySQL through the proxy', { kind: c.kind });
      }
      if (node.writes.isUnmanaged(c.write.table)) {
        throw new RpcError(RpcCode.INVALID_PARAMETER, `table ${c.write.table} is unmanaged: its updates are not replicated, so there is nothing to sign`, { table: c.write.table });
      }
      return onNodeConnection(node, (exec, session) => node.writes.prepare(exec, session, c.write, pubkey));
    },
  }),

  submitsigned: method({
    summary: 'Step two: a body from step one and its signature. A transfer is pooled; an update is executed and pooled in one MySQL transaction (refused if its rows changed since step one or the body is older than 10 minutes).',
    params: ['transaction', 'signature'],
    schema: z.object({ transaction: hexParam.describe('`transaction` from step one'), signature: hexParam.describe('DER or 64-byte compact r‖s, hex') }),
    auth: false,
    returns: 'a transfer: `{txid}`; an update: `{txid, affectedRows, insertId}`',
    result: z.union([z.strictObject({ txid: Hash }), z.strictObject({ txid: Hash, affectedRows: Uint, insertId: z.string() })]),
    errors: {
      [RpcCode.DESERIALIZATION_ERROR]: '`bad-encoding`: not a body step one makes',
      [RpcCode.VERIFY_ERROR]: '`bad-signature`',
      [RpcCode.VERIFY_REJECTED]: 'consensus refusals (`missing-input`, `double-spend`, `stale-base`, ...); an update whose rows changed or that is older than 10 minutes (`data.errno` 4106: run step one again)',
      [RpcCode.VERIFY_ALREADY_IN_CHAIN]: '`duplicate-tx`: already pooled or mined',
      [RpcCode.MISC_ERROR]: 'SQL errors, with `data: {errno, sqlState}`',
    },
    example: {
      params: { transaction: exampleTransferPrepared.transaction, signature: exampleTransferSig },
      result: { txid: exampleTransferPrepared.txid },
    },
    run: async (p, { node }) => {
      const { chain } = node;
      const tx = txFromPrepared(p.transaction, p.signature);
      if (chain.state.hasTx(tx.id) || chain.pool.has(tx.id)) {
        throw new ConsensusError('duplicate-tx', `transaction ${tx.id} is already ${chain.pool.has(tx.id) ? 'in the pool' : 'in the chain'}`, { txid: tx.id });
      }
      const part = sqlOf(tx);
      if (!part) {
        await chain.submitTx(tx);
        return { txid: tx.id };
      }
      // The body's own statement is the SQL to run: it is what step one made deterministic.
      const reply = await onNodeConnection(node, (exec, session) =>
        node.writes.executeSigned(exec, session, part.stmts[0], p.transaction, p.signature),
      );
      return { txid: reply.txid ?? tx.id, affectedRows: reply.affectedRows, insertId: reply.insertId.toString() };
    },
  }),
};

