/** SQL through the node (auth: it signs with a node-held key), as the original's `sql` command. */
import { z } from 'zod';
import { checkAddress, txSigner } from '../../../consensus/index.ts';
import { mysql2Executor } from '../../sql/mysql-executor.ts';
import { RpcCode, RpcError } from '../errors.ts';
import { EX, exampleTxid } from '../examples.ts';
import { method, type MethodTable } from '../method.ts';
import { Address, Hash, Uint } from '../shapes.ts';

export const sqlMethods: MethodTable = {
  sql: method({
    summary: 'Runs one statement on the node\'s database: an update becomes a transaction signed by `from` (default: the proxy key); a read returns its rows.',
    params: ['sql', 'from'],
    schema: z.object({ sql: z.string().min(1), from: z.string().optional() }),
    auth: true,
    returns: 'an update becomes a tx signed by `from` (default: the proxy key) → `{txid, affectedRows, insertId, from}`; a read → `{columns, rows}`',
    result: z.union([
      z.strictObject({ txid: Hash.nullable(), affectedRows: Uint, insertId: z.string(), from: Address }),
      z.strictObject({ columns: z.array(z.string()), rows: z.array(z.array(z.string().nullable())) }),
    ]),
    errors: {
      [RpcCode.MISC_ERROR]: 'SQL errors, with `data: {errno, sqlState}` as in docs/errors.md',
      [RpcCode.VERIFY_REJECTED]: 'the rules refuse the statement or its cost is unpaid (`data.errno` 4101, 4102)',
      [RpcCode.WALLET_ERROR]: 'no node-held key to sign with',
    },
    example: {
      params: { sql: "INSERT INTO notes (body) VALUES ('hello')" },
      result: { txid: exampleTxid, affectedRows: 1, insertId: '1', from: EX.alice },
    },
    run: async (p, { node }) => {
      const from = p.from !== undefined ? checkAddress(p.from, 'from') : (node.config.proxyKey ?? node.wallet.list()[0]?.address);
      if (!from) throw new RpcError(RpcCode.WALLET_ERROR, 'the node wallet holds no address to sign with (getnewaddress makes one)');
      const key = node.wallet.key(from);
      const conn = await node.mysql.getConnection();
      try {
        const r = await node.writes.runStatement(mysql2Executor(conn), p.sql, txSigner(key.privateKey));
        if ('reply' in r) {
          return { txid: r.reply.txid ?? null, affectedRows: r.reply.affectedRows, insertId: r.reply.insertId.toString(), from };
        }
        return { columns: r.columns, rows: r.rows };
      } finally {
        conn.release();
      }
    },
  }),
};
