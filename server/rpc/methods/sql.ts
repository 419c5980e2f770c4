/** SQL through the node (auth: it signs with a node-held key), as the original's `sql` command. */
import { z } from 'zod';
import { checkAddress, txSigner } from '../../../consensus/index.ts';
import { mysql2Executor } from '../../sql/mysql-executor.ts';
import { RpcCode, RpcError } from '../errors.ts';
import { method, type MethodTable } from '../method.ts';

export const sqlMethods: MethodTable = {
  sql: method({
    summary: 'Runs one statement on the node\'s database: an update becomes a transaction signed by `from` (default: the proxy key); a read returns its rows.',
    params: ['sql', 'from'],
    schema: z.object({ sql: z.string().min(1), from: z.string().optional() }),
    auth: true,
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
