import { format } from 'mysql2';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { blockHash, parseCanonical, txFromRaw, type Block, type BlockHeader, type Tx, type TxBody } from '../../consensus/index.ts';
import { sendPipelined } from './pipelined.ts';
import { CHAIN_COLUMNS, CHAIN_TABLES, quoteId, sqlString } from './schema.ts';
import { addressesOf, type ConfirmedCoin, type IndexRows, type StateDelta } from './state.ts';

export type Conn = Pool | PoolConnection;

export interface StoredHeader {
  hash: string;
  header: BlockHeader;
  txids: string[];
  /** Cumulative work from genesis, inclusive. */
  work: bigint;
  status: BlockStatus;
  seq: number;
  /** State digest once this node connected the block (SPEC 9); undefined before, or when not computed. */
  digest?: string;
}
export const enum BlockStatus { Stored = 0, Connected = 1, Invalid = 2 }

/** A pool tx that no longer fits after a fork switch or pool rebuild. */
export interface DroppedTx {
  tx: Tx;
  reason: string;
  code?: string;
  at: number;
  /** For this node's own writes that it runs again (SPEC 8): what became of that, set as it happens. */
  rebase?: string;
}

/**
 * Why a dropped tx of this node's own is run again (SPEC 8 names a moved base; a tx too old for
 * any next block, after the node was down for hours, is the same client write left unapplied).
 */
export const REBASED_CODES: ReadonlySet<string> = new Set(['stale-base', 'bad-time']);

const SAVE_BATCH_BYTES = 4 * 1024 * 1024;
const DROPPED_KEEP_MS = 30 * 24 * 3600_000;

/** Reads and writes the chain database. Holds no state of its own besides names. */
export class ChainStore {
  readonly db: string;
  constructor(readonly mysql: Pool, private readonly chainDb: string, readonly appDb: string) {
    this.db = quoteId(chainDb);
  }

  private t(table: string): string {
    return `${this.db}.${table}`;
  }

  async createSchema(): Promise<void> {
    await this.mysql.query(`CREATE DATABASE IF NOT EXISTS ${quoteId(this.appDb)}`);
    await this.mysql.query(`CREATE DATABASE IF NOT EXISTS ${this.db}`);
    // Three connections at once, each making a share: a fresh datadir's tables are made sooner than
    // one by one. Each goes back to the pool when done, so a pool of fewer connections still works.
    const shares = 3;
    await Promise.all(Array.from({ length: shares }, async (_, k) => {
      const conn = await this.mysql.getConnection();
      let done = false;
      try {
        // first on its own: the tables are named without their database
        await conn.query(`USE ${this.db}`);
        // one write for the share (the server makes them one after the other)
        for (const answer of await sendPipelined(conn, CHAIN_TABLES.filter((_, i) => i % shares === k).map((sql) => ({ sql })))) {
          if ('error' in answer) throw answer.error;
        }
        // Pooled connections must stay on the application database.
        await conn.query(`USE ${quoteId(this.appDb)}`);
        done = true;
      } finally {
        if (done) conn.release();
        else conn.destroy(); // (it may be on the chain's database)
      }
    }));
    // A datadir made by an older version gets the columns added since (MySQL has no ADD COLUMN IF NOT EXISTS).
    for (const [table, column, definition] of CHAIN_COLUMNS) {
      const [has] = await this.mysql.query<RowDataPacket[]>(
        'SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?', [this.chainDb, table, column],
      );
      if (has.length === 0) await this.mysql.query(`ALTER TABLE ${this.t(table)} ADD COLUMN ${column} ${definition}`);
    }
  }

  async getMeta(key: string, conn: Conn = this.mysql): Promise<string | undefined> {
    const [rows] = await conn.query<RowDataPacket[]>(`SELECT v FROM ${this.t('meta')} WHERE k = ?`, [key]);
    return rows[0]?.v;
  }
  /** Sets `key` to `to` if it holds `from`; whether it did. */
  async moveMeta(key: string, from: string, to: string, conn: Conn = this.mysql): Promise<boolean> {
    if (from === to) return (await this.getMeta(key, conn)) === from;
    return (await added(conn.query(`UPDATE ${this.t('meta')} SET v = ? WHERE k = ? AND v = ?`, [to, key, from]))) === 1;
  }
  async setMeta(key: string, value: string, conn: Conn = this.mysql): Promise<void> {
    await conn.query(`INSERT INTO ${this.t('meta')} (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)`, [key, value]);
  }

  async loadHeaders(): Promise<StoredHeader[]> {
    const [rows] = await this.mysql.query<RowDataPacket[]>(
      `SELECT b.hash, b.header, b.txids, b.work, b.status, b.seq, d.digest FROM ${this.t('blocks')} b ` +
      `LEFT JOIN ${this.t('block_digests')} d ON d.hash = b.hash ORDER BY b.seq`,
    );
    return rows.map((r) => ({
      hash: r.hash,
      header: JSON.parse(r.header),
      txids: JSON.parse(r.txids),
      work: BigInt(r.work),
      status: r.status,
      seq: Number(r.seq),
      ...(r.digest ? { digest: r.digest as string } : {}),
    }));
  }

  async loadActiveChain(): Promise<string[]> {
    const [rows] = await this.mysql.query<RowDataPacket[]>(`SELECT height, hash FROM ${this.t('chain')} ORDER BY height`);
    return rows.map((r, i) => {
      if (r.height !== i) throw new Error(`chain index has a gap at height ${i}`);
      return r.hash as string;
    });
  }

  async loadUtxo(each: (txid: string, n: number, coin: ConfirmedCoin) => void): Promise<void> {
    const [rows] = await this.mysql.query<RowDataPacket[]>(`SELECT txid, n, address, amount, height FROM ${this.t('utxo')}`);
    for (const r of rows) each(r.txid, r.n, { to: r.address, amount: BigInt(r.amount), height: r.height });
  }
  async loadRefs(each: (ref: string, txid: string) => void): Promise<void> {
    const [rows] = await this.mysql.query<RowDataPacket[]>(`SELECT ref, txid FROM ${this.t('refs')}`);
    for (const r of rows) each(Buffer.from(r.ref).toString('utf8'), r.txid);
  }
  async loadTxIndex(each: (txid: string) => void): Promise<void> {
    const [rows] = await this.mysql.query<RowDataPacket[]>(`SELECT txid FROM ${this.t('txindex')}`);
    for (const r of rows) each(r.txid);
  }

  async txLocation(txid: string): Promise<{ height: number; pos: number } | undefined> {
    const [rows] = await this.mysql.query<RowDataPacket[]>(`SELECT height, pos FROM ${this.t('txindex')} WHERE txid = ?`, [txid]);
    return rows[0] ? { height: rows[0].height, pos: rows[0].pos } : undefined;
  }

  async getTxs(ids: readonly string[], conn: Conn = this.mysql): Promise<Map<string, Tx>> {
    const out = new Map<string, Tx>();
    for (const [id, r] of await this.txRows(ids, conn)) out.set(id, txFromRaw(r.body, r.sig ?? undefined));
    return out;
  }

  /**
   * Stored bodies (canonical JSON text) and first-seen signatures by txid; unknown ids are left
   * out. A connected block's pooled txs may have their bodies still in the pool table
   * (index-backlog.ts): one statement reads both tables, so a move between them in the meantime
   * cannot hide a body. A `txs` row comes first.
   */
  private async txRows(ids: readonly string[], conn: Conn): Promise<Map<string, { body: string; sig: string | null }>> {
    const out = new Map<string, { body: string; sig: string | null }>();
    for (let i = 0; i < ids.length; i += 5000) {
      const chunk = ids.slice(i, i + 5000);
      const [rows] = await conn.query<RowDataPacket[]>(
        `SELECT txid, body, sig, 0 AS pooled FROM ${this.t('txs')} WHERE txid IN (?) UNION ALL SELECT txid, body, sig, 1 FROM ${this.t('pool')} WHERE txid IN (?)`,
        [chunk, chunk],
      );
      for (const r of rows) if (Number(r.pooled) === 0 || !out.has(r.txid)) out.set(r.txid, { body: r.body, sig: r.sig });
    }
    return out;
  }

  async getTx(txid: string): Promise<Tx | undefined> {
    return (await this.getTxs([txid])).get(txid);
  }

  async getBlock(stored: StoredHeader, conn: Conn = this.mysql): Promise<Block> {
    const [txs, sigs] = await Promise.all([this.getTxs(stored.txids, conn), this.blockSigs([stored.hash], conn)]);
    return { hash: stored.hash, header: stored.header, txs: withSigs(stored.hash, stored.txids, txs, sigs.get(stored.hash)) };
  }

  /**
   * Blocks as the wire carries them (`{"header":…,"txs":[{"body":…,"sig":…}]}`), as JSON text:
   * the stored bodies are canonical JSON already, so they are spliced in, not parsed and written
   * again (serving a sync did that for every tx). Two queries for all of them. Each tx has the
   * signature its block has, as getBlock gives it.
   */
  async getBlocksJson(stored: readonly StoredHeader[], conn: Conn = this.mysql): Promise<string[]> {
    const [rows, sigs] = await Promise.all([
      this.txRows([...new Set(stored.flatMap((h) => h.txids))], conn),
      this.blockSigs(stored.map((h) => h.hash), conn),
    ]);
    return stored.map((h) => {
      const own = sigs.get(h.hash);
      const txs = h.txids.map((id, i) => {
        const row = rows.get(id);
        if (!row) throw new Error(`block ${h.hash} refers to tx ${id} that is not stored`);
        const sig = own ? own[i] : row.sig;
        return sig == null ? `{"body":${row.body}}` : `{"body":${row.body},"sig":${JSON.stringify(sig)}}`;
      });
      return `{"header":${JSON.stringify(h.header)},"txs":[${txs.join(',')}]}`;
    });
  }

  /** Each block's own signatures (blocks stored before they were kept have none: their txs' are used). */
  private async blockSigs(hashes: readonly string[], conn: Conn = this.mysql): Promise<Map<string, (string | null)[]>> {
    const out = new Map<string, (string | null)[]>();
    if (hashes.length === 0) return out;
    const [rows] = await conn.query<RowDataPacket[]>(`SELECT hash, sigs FROM ${this.t('blocks')} WHERE hash IN (?) AND sigs IS NOT NULL`, [hashes]);
    for (const r of rows) out.set(r.hash, JSON.parse(r.sigs));
    return out;
  }

  /**
   * Txs as the active chain has them (the signature of the block that holds each), or as stored
   * for ids not in it; unknown ids are left out. `known`: locations the caller has already (the
   * index backlog's; null: not in the active chain), not looked up in txindex.
   */
  async getChainTxs(ids: readonly string[], known: ReadonlyMap<string, { hash: string; pos: number } | null> = new Map()): Promise<Map<string, Tx>> {
    const txs = await this.getTxs(ids);
    const at = new Map<string, { hash: string; pos: number }>();
    for (const [id, where] of known) if (where) at.set(id, where);
    const ask = ids.filter((id) => !known.has(id));
    for (let i = 0; i < ask.length; i += 5000) {
      const [rows] = await this.mysql.query<RowDataPacket[]>(
        `SELECT i.txid, i.pos, c.hash FROM ${this.t('txindex')} i JOIN ${this.t('chain')} c ON c.height = i.height WHERE i.txid IN (?)`, [ask.slice(i, i + 5000)],
      );
      for (const r of rows) at.set(r.txid, { hash: r.hash, pos: r.pos });
    }
    const sigs = await this.blockSigs([...new Set([...at.values()].map((a) => a.hash))]);
    for (const [id, { hash, pos }] of at) {
      const tx = txs.get(id);
      const list = sigs.get(hash);
      if (tx && list) txs.set(id, { ...tx, sig: list[pos] ?? undefined });
    }
    return txs;
  }

  /**
   * Inserts bodies in batches of at most 4 MiB (bodies may be near 1 MiB; max_allowed_packet is
   * 16 MiB), all sent at once; each promise gives how many rows its batch added (ids already
   * stored are skipped).
   */
  private insertTxs(txs: readonly Tx[], conn: Conn): Promise<number>[] {
    const sent: Promise<number>[] = [];
    let batch: string[] = [];
    let bytes = 0;
    const flush = () => {
      if (batch.length) sent.push(added(conn.query(`INSERT IGNORE INTO ${this.t('txs')} (txid, body, sig) VALUES ${batch.join(', ')}`)));
      batch = [];
      bytes = 0;
    };
    for (const t of txs) {
      const n = t.raw.length * 4;
      if (batch.length && (bytes + n > SAVE_BATCH_BYTES || batch.length >= 1000)) flush();
      batch.push(`(${txRowValues(t)})`);
      bytes += n;
    }
    flush();
    return sent;
  }

  /** Stores a block (and its tx bodies) on whatever branch; returns its first-seen sequence number. */
  async saveBlock(block: Block, work: bigint, conn: Conn = this.mysql, pooled?: (tx: Tx) => boolean): Promise<number> {
    return (await this.saveBlocks([{ block, work }], conn, pooled))[0];
  }

  /**
   * Stores blocks (a run from a sync: their txs in as few INSERTs as fit); returns each one's seq.
   * On a transaction's connection every statement is sent before any answer is awaited, in this
   * order, so a caller may queue more work behind them. `pooled(tx)`: the pool's committed row
   * holds this tx with this signature; its body is copied inside MySQL instead of sent again, or
   * with `leaveInPool` not copied now: the caller moves it later (`movePooledBodies`). `storedBefore`
   * false: the caller knows no pooled tx's body is in `txs` yet (no stored block off the active chain
   * holds one), and MySQL is not asked.
   */
  async saveBlocks(
    blocks: readonly { block: Block; work: bigint }[], conn: Conn = this.mysql, pooled: (tx: Tx) => boolean = () => false, leaveInPool = false,
    storedBefore = true,
  ): Promise<number[]> {
    if (blocks.length === 0) return [];
    if (!('release' in conn)) return this.inTransaction((c) => this.saveBlocks(blocks, c, pooled, leaveInPool, storedBefore));
    for (const { block } of blocks) if (blockHash(block.header) !== block.hash) throw new Error('block hash mismatch');
    const txs = blocks.flatMap(({ block }) => block.txs);
    const inPool = txs.map(pooled);
    const copied = txs.filter((_, i) => inPool[i]).map((t) => t.id);
    const inserts: Promise<number>[] = [];
    // rows stored before among the pooled ones, when they stay in the pool for now
    let before: Promise<number> = Promise.resolve(0);
    for (let i = 0; i < copied.length; i += 5000) {
      const chunk = copied.slice(i, i + 5000);
      if (!leaveInPool) {
        inserts.push(added(this.copyFromPool(chunk, conn)));
        continue;
      }
      if (!storedBefore) continue;
      const counting = conn.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${this.t('txs')} WHERE txid IN (?)`, [chunk]);
      before = Promise.all([before, counting]).then(([n, [rows]]) => n + Number(rows[0].n));
    }
    const fresh = txs.filter((_, i) => !inPool[i]);
    inserts.push(...this.insertTxs(fresh, conn));
    // A block's signatures are its txs' rows' when every one of those rows is added by this save or
    // by the move out of the pool (rows are never changed): it keeps a copy of its own only when
    // some tx was stored before, maybe with another signature. That copy would be most of the row
    // (130 kB for 1,000 txs).
    const rows = blocks.map(({ block, work }) => [
      block.hash, block.header.height, block.header.prev, JSON.stringify(block.header), JSON.stringify(block.txs.map((t) => t.id)), null, work.toString(), 0,
    ]);
    const saving = conn.query(`INSERT INTO ${this.t('blocks')} (hash, height, prev, header, txids, sigs, work, status) VALUES ?`, [rows]);
    const [counts, storedRows, [res]] = await Promise.all([Promise.all(inserts), before, saving]);
    const expected = leaveInPool ? fresh.length : txs.length;
    if (storedRows > 0 || counts.reduce((a, b) => a + b, 0) < expected) {
      await Promise.all(blocks.map(({ block }) => conn.query(
        `UPDATE ${this.t('blocks')} SET sigs = ? WHERE hash = ?`, [JSON.stringify(block.txs.map((t) => t.sig ?? null)), block.hash],
      )));
    }
    if (blocks.length === 1) return [Number((res as unknown as { insertId: number }).insertId)];
    // one INSERT for a run; its rows' sequence numbers read back (not assumed consecutive)
    const [got] = await conn.query<RowDataPacket[]>(`SELECT hash, seq FROM ${this.t('blocks')} WHERE hash IN (?)`, [blocks.map((b) => b.block.hash)]);
    const seq = new Map(got.map((r) => [r.hash as string, Number(r.seq)]));
    return blocks.map(({ block }) => seq.get(block.hash)!);
  }

  /** `work` on one connection of the pool, committed as a whole. */
  async inTransaction<T>(work: (conn: PoolConnection) => Promise<T>): Promise<T> {
    const conn = await this.mysql.getConnection();
    try {
      await conn.beginTransaction();
      const out = await work(conn);
      await conn.commit();
      return out;
    } catch (e) {
      await conn.rollback().catch(() => {});
      throw e;
    } finally {
      conn.release();
    }
  }

  async saveDigests(digests: ReadonlyMap<string, string>, conn: Conn = this.mysql): Promise<void> {
    if (digests.size === 0) return;
    await conn.query(`INSERT INTO ${this.t('block_digests')} (hash, digest) VALUES ? ON DUPLICATE KEY UPDATE digest = VALUES(digest)`, [[...digests]]);
  }

  async setBlockStatus(hashes: readonly string[], status: BlockStatus, conn: Conn = this.mysql): Promise<void> {
    if (hashes.length) await conn.query(`UPDATE ${this.t('blocks')} SET status = ? WHERE hash IN (?)`, [status, hashes]);
  }

  /** Writes the index rows and the active-chain rows of applied/undone blocks (both parts below). */
  async writeDelta(delta: StateDelta, conn: PoolConnection): Promise<void> {
    await Promise.all([this.writeIndex(delta, conn), this.writeChainRows(delta, conn)]);
  }

  /**
   * Writes index rows (utxo, refs, txindex, addr_txs) inside the caller's MySQL transaction.
   * Every statement is sent at once (one wait): each row is added or removed by one of them only.
   */
  async writeIndex(rows: IndexRows, conn: PoolConnection): Promise<void> {
    await this.indexWrites(rows)(conn);
  }

  /** The statements that write `rows`, their values taken now (the rows may change before they run). */
  indexWrites(rows: IndexRows): (conn: PoolConnection) => Promise<void> {
    const stmts: [string, unknown[]][] = [];
    const inChunks = <T>(list: T[], size: number, sql: string) => {
      for (let i = 0; i < list.length; i += size) stmts.push([sql, list.slice(i, i + size)]);
    };
    const delUtxo: [string, number][] = [];
    const addUtxo: unknown[][] = [];
    for (const [k, c] of rows.utxo) {
      const [txid, n] = k.split(':');
      if (c) addUtxo.push([txid, Number(n), c.to, c.amount.toString(), c.height]);
      else delUtxo.push([txid, Number(n)]);
    }
    inChunks(delUtxo, 1000, `DELETE FROM ${this.t('utxo')} WHERE (txid, n) IN (?)`);
    inChunks(addUtxo, 1000, `REPLACE INTO ${this.t('utxo')} (txid, n, address, amount, height) VALUES ?`);
    const delRefs = [...rows.refs].filter(([, t]) => t === null).map(([r]) => r);
    const setRefs = [...rows.refs].filter(([, t]) => t !== null).map(([r, t]) => [r, t]);
    inChunks(delRefs, 5000, `DELETE FROM ${this.t('refs')} WHERE ref IN (?)`);
    // an existing ref is updated in place (REPLACE would delete and re-insert it)
    inChunks(setRefs, 1000, `INSERT INTO ${this.t('refs')} (ref, txid) VALUES ? ON DUPLICATE KEY UPDATE txid = VALUES(txid)`);
    const delIndex = [...rows.index].filter(([, v]) => v === null).map(([t]) => t);
    const addIndex = [...rows.index].filter(([, v]) => v !== null).map(([t, v]) => [t, v![0], v![1]]);
    inChunks(delIndex, 5000, `DELETE FROM ${this.t('txindex')} WHERE txid IN (?)`);
    inChunks(addIndex, 1000, `INSERT INTO ${this.t('txindex')} (txid, height, pos) VALUES ? ON DUPLICATE KEY UPDATE height = VALUES(height), pos = VALUES(pos)`);
    const addrRows = (added: boolean) =>
      [...rows.addresses].filter(([, a]) => a.added === added).flatMap(([t, a]) => a.addresses.map((address) => [address, t]));
    inChunks(addrRows(false), 1000, `DELETE FROM ${this.t('addr_txs')} WHERE (address, txid) IN (?)`);
    inChunks(addrRows(true), 5000, `INSERT IGNORE INTO ${this.t('addr_txs')} (address, txid) VALUES ?`);
    return async (conn) => void (await Promise.all(stmts.map(([sql, chunk]) => conn.query(sql, [chunk]))));
  }

  /** Writes which block is active at each height the delta changed (part of every block's commit). */
  async writeChainRows(delta: StateDelta, conn: PoolConnection): Promise<void> {
    const delChain = [...delta.chain].filter(([, h]) => h === null).map(([height]) => height);
    const addChain = [...delta.chain].filter(([, h]) => h !== null).map(([height, h]) => [height, h]);
    const sent: Promise<unknown>[] = [];
    if (delChain.length) sent.push(conn.query(`DELETE FROM ${this.t('chain')} WHERE height IN (?)`, [delChain]));
    if (addChain.length) sent.push(conn.query(`REPLACE INTO ${this.t('chain')} (height, hash) VALUES ?`, [addChain]));
    await Promise.all(sent);
  }

  /** Moves the bodies of connected blocks' txs from their pool rows to `txs` (ids not in the pool are skipped). */
  async movePooledBodies(txids: readonly string[], conn: PoolConnection): Promise<void> {
    const sent: Promise<unknown>[] = [];
    for (let i = 0; i < txids.length; i += 5000) {
      const chunk = txids.slice(i, i + 5000);
      sent.push(this.copyFromPool(chunk, conn), conn.query(`DELETE FROM ${this.t('pool')} WHERE txid IN (?)`, [chunk]));
    }
    await Promise.all(sent);
  }

  /** Copies pool rows' bodies and signatures to `txs` (ids already there, or not pooled, are skipped). */
  private copyFromPool(txids: readonly string[], conn: Conn): Promise<unknown> {
    return conn.query(`INSERT IGNORE INTO ${this.t('txs')} (txid, body, sig) SELECT txid, body, sig FROM ${this.t('pool')} WHERE txid IN (?)`, [txids]);
  }

  /** Empties the index tables (before they are built again from the active chain). */
  async clearIndex(conn: PoolConnection): Promise<void> {
    for (const table of ['utxo', 'refs', 'txindex', 'addr_txs']) await conn.query(`DELETE FROM ${this.t(table)}`);
  }

  // ---- the DDL journal (schema.ts) ----

  /**
   * Fills addr_txs for a chain stored before it existed (one pass over the active chain's bodies);
   * a no-op once done (`meta.addr_index`).
   */
  async buildAddressIndex(log: (msg: string) => void): Promise<void> {
    if ((await this.getMeta('addr_index')) === '1') return;
    let last = '';
    let rows = 0;
    for (;;) {
      const [batch] = await this.mysql.query<RowDataPacket[]>(
        `SELECT i.txid, t.body FROM ${this.t('txindex')} i JOIN ${this.t('txs')} t ON t.txid = i.txid WHERE i.txid > ? ORDER BY i.txid LIMIT 2000`,
        [last],
      );
      if (batch.length === 0) break;
      const values = batch.flatMap((r) => addressesOf(parseCanonical(r.body) as TxBody).map((a) => [a, r.txid]));
      if (values.length) await this.mysql.query(`INSERT IGNORE INTO ${this.t('addr_txs')} (address, txid) VALUES ?`, [values]);
      rows += values.length;
      last = batch[batch.length - 1].txid;
    }
    await this.setMeta('addr_index', '1');
    if (rows) log(`chain: address index built (${rows} entries)`);
  }

  async journalDdl(txid: string, undo: readonly string[]): Promise<void> {
    await this.clearDdlUndo(txid, this.mysql);
    await this.mysql.query(`INSERT INTO ${this.t('ddl_journal')} (txid, undo_sql, added) VALUES (?, ?, ?)`, [txid, JSON.stringify(undo), Date.now()]);
  }
  async clearDdl(txid: string): Promise<void> {
    await this.mysql.query(`DELETE FROM ${this.t('ddl_journal')} WHERE txid = ?`, [txid]);
  }
  /** Journal rows whose tx is neither pooled nor in the tx index: their DDL may have run without a tx. */
  async orphanedDdl(): Promise<{ txid: string; undo: string[] }[]> {
    const [rows] = await this.mysql.query<RowDataPacket[]>(
      `SELECT j.txid, j.undo_sql FROM ${this.t('ddl_journal')} j
        WHERE NOT EXISTS (SELECT 1 FROM ${this.t('pool')} p WHERE p.txid = j.txid)
          AND NOT EXISTS (SELECT 1 FROM ${this.t('txindex')} x WHERE x.txid = j.txid)`,
    );
    return rows.map((r) => ({ txid: r.txid, undo: JSON.parse(r.undo_sql) as string[] }));
  }
  /** Forgets journal rows whose tx made it into the pool or a block. */
  async clearSettledDdl(): Promise<void> {
    await this.mysql.query(
      `DELETE j FROM ${this.t('ddl_journal')} j WHERE EXISTS (SELECT 1 FROM ${this.t('pool')} p WHERE p.txid = j.txid)
          OR EXISTS (SELECT 1 FROM ${this.t('txindex')} x WHERE x.txid = j.txid)`,
    );
  }

  /** Saves this node's undo of schema change `txid` (replacing an older one) in the caller's transaction. */
  async saveDdlUndo(txid: string, undo: readonly string[], conn: PoolConnection): Promise<void> {
    await conn.query(`DELETE FROM ${this.t('ddl_undo')} WHERE txid = ?`, [txid]);
    const rows: [string, number, string | null][] = undo.length ? undo.map((s, n) => [txid, n, s]) : [[txid, 0, null]];
    // a copy of a big table: several INSERTs, each well under max_allowed_packet
    const insert = (batch: typeof rows) => conn.query(`INSERT INTO ${this.t('ddl_undo')} (txid, n, stmt) VALUES ?`, [batch]);
    let batch: typeof rows = [];
    let bytes = 0;
    for (const row of rows) {
      const n = row[2]?.length ?? 0;
      if (batch.length && bytes + n > SAVE_BATCH_BYTES) {
        await insert(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(row);
      bytes += n;
    }
    await insert(batch);
  }
  /** This node's undo of schema change `txid`; undefined when it saved none (the tx's own undo stands). */
  async ddlUndo(txid: string, conn: Conn): Promise<string[] | undefined> {
    const [rows] = await conn.query<RowDataPacket[]>(`SELECT stmt FROM ${this.t('ddl_undo')} WHERE txid = ? ORDER BY n`, [txid]);
    if (rows.length === 0) return undefined;
    return rows.filter((r) => r.stmt !== null).map((r) => String(r.stmt));
  }
  async clearDdlUndo(txid: string, conn: Conn): Promise<void> {
    await conn.query(`DELETE FROM ${this.t('ddl_undo')} WHERE txid = ?`, [txid]);
  }
  async clearAllDdlUndo(conn: Conn): Promise<void> {
    await conn.query(`DELETE FROM ${this.t('ddl_undo')}`);
  }
  /** Txids with an undo of this node's, and whether it does anything. */
  async loadDdlUndo(): Promise<Map<string, boolean>> {
    const [rows] = await this.mysql.query<RowDataPacket[]>(`SELECT txid, COUNT(stmt) AS n FROM ${this.t('ddl_undo')} GROUP BY txid`);
    return new Map(rows.map((r) => [String(r.txid), Number(r.n) > 0]));
  }
  /** Forgets saved undo of txs neither pooled nor in the active chain (a run that failed after saving). */
  async pruneDdlUndo(conn: Conn = this.mysql): Promise<void> {
    await conn.query(
      `DELETE u FROM ${this.t('ddl_undo')} u WHERE NOT EXISTS (SELECT 1 FROM ${this.t('pool')} p WHERE p.txid = u.txid)
          AND NOT EXISTS (SELECT 1 FROM ${this.t('txindex')} x WHERE x.txid = u.txid)`,
    );
  }

  async loadPool(): Promise<{ txs: Tx[]; nextSeq: number }> {
    const [rows] = await this.mysql.query<RowDataPacket[]>(
      `SELECT seq, txid, body, sig FROM ${this.t('pool')} ORDER BY seq`,
    );
    const last = rows.length ? Number(rows[rows.length - 1].seq) : 0;
    return { txs: rows.map((r) => txFromRaw(r.body, r.sig ?? undefined)), nextSeq: last + 1 };
  }

  /**
   * The statements that persist a pool entry. The proxy runs them on the client's own connection,
   * inside the transaction that ran the SQL, so the change and its pool entry commit together.
   */
  poolInsertSql(tx: Tx, seq: number): string[] {
    return [`INSERT INTO ${this.t('pool')} (seq, txid, body, sig, added) VALUES (${seq}, ${txRowValues(tx)}, ${Date.now()})`];
  }

  /**
   * Records dropped txs in the transaction that drops them. Forgets drops and re-base lines older
   * than 30 days: no fork switch reaches that far back.
   */
  async saveDropped(list: readonly DroppedTx[], conn: Conn): Promise<void> {
    if (list.length === 0) return;
    const rows = list.map((d) => [d.tx.id, d.tx.raw, d.tx.sig ?? null, d.reason, d.code ?? null, d.at]);
    await conn.query(`REPLACE INTO ${this.t('dropped')} (txid, body, sig, reason, code, at) VALUES ?`, [rows]);
    const horizon = Date.now() - DROPPED_KEEP_MS;
    await conn.query(`DELETE FROM ${this.t('dropped')} WHERE at < ?`, [horizon]);
    await conn.query(`DELETE FROM ${this.t('rebased')} WHERE added < ?`, [horizon]);
  }

  /** The latest `limit` dropped txs, oldest first, and every one whose re-base is still to do. */
  async loadDropped(limit: number): Promise<DroppedTx[]> {
    const [rows] = await this.mysql.query<RowDataPacket[]>(
      `(SELECT * FROM ${this.t('dropped')} ORDER BY at DESC LIMIT ?) UNION (SELECT * FROM ${this.t('dropped')} WHERE code IN (?) AND rebase IS NULL) ORDER BY at`,
      [limit, [...REBASED_CODES]],
    );
    const out: DroppedTx[] = [];
    for (const r of rows) {
      let tx: Tx;
      try {
        tx = txFromRaw(r.body, r.sig ?? undefined);
      } catch {
        continue; // a record only: one that does not read back must not stop the node
      }
      out.push({ tx, reason: r.reason, at: Number(r.at), ...(r.code !== null && { code: r.code as string }), ...(r.rebase !== null && { rebase: r.rebase as string }) });
    }
    return out;
  }

  /** What became of a dropped tx's re-base (`dropped.rebase`). */
  rebaseOutcomeSql(txid: string, outcome: string): string {
    return format(`UPDATE ${this.t('dropped')} SET rebase = ? WHERE txid = ?`, [outcome, txid]);
  }

  /** Records `txid` as a re-run of the write `origin` (written in the commit of its pool entry). */
  rebasedInsertSql(txid: string, origin: string): string {
    return format(`INSERT INTO ${this.t('rebased')} (txid, origin, added) VALUES (?, ?, ?)`, [txid, origin, Date.now()]);
  }

  /** The write `txid` re-runs (itself if it is an original) and every tx of that line. */
  async rebaseLine(txid: string, conn: Conn = this.mysql): Promise<{ origin: string; txids: string[] }> {
    const [own] = await conn.query<RowDataPacket[]>(`SELECT origin FROM ${this.t('rebased')} WHERE txid = ?`, [txid]);
    const origin: string = own.length ? own[0].origin : txid;
    const [line] = await conn.query<RowDataPacket[]>(`SELECT txid FROM ${this.t('rebased')} WHERE origin = ?`, [origin]);
    return { origin, txids: [origin, ...line.map((r) => r.txid as string)] };
  }

  async poolAdd(tx: Tx, seq: number, conn: Conn = this.mysql): Promise<void> {
    for (const stmt of this.poolInsertSql(tx, seq)) await conn.query(stmt);
  }
  /** Rewrites the pool as exactly `txs`, in order, numbered from 1 (after a rebuild or fork switch). */
  async poolReplace(txs: readonly Tx[], conn: Conn = this.mysql): Promise<void> {
    await conn.query(`DELETE FROM ${this.t('pool')}`);
    const now = Date.now();
    for (let i = 0; i < txs.length; i += 500) {
      const rows = txs.slice(i, i + 500).map((t, k) => [i + k + 1, t.id, t.raw, t.sig ?? null, now]);
      await conn.query(`INSERT INTO ${this.t('pool')} (seq, txid, body, sig, added) VALUES ?`, [rows]);
    }
  }
}

/** A tx's `txid, body, sig` as SQL values. */
const txRowValues = (t: Tx): string => `${sqlString(t.id)}, ${sqlString(t.raw)}, ${t.sig == null ? 'NULL' : sqlString(t.sig)}`;

/** A block's txs in order, each with the block's own signature where it has them. */
function withSigs(hash: string, txids: readonly string[], txs: ReadonlyMap<string, Tx>, sigs: readonly (string | null)[] | undefined): Tx[] {
  return txids.map((id, i) => {
    const tx = txs.get(id);
    if (!tx) throw new Error(`block ${hash} refers to tx ${id} that is not stored`);
    if (!sigs) return tx;
    const sig = sigs[i] ?? undefined;
    return sig === tx.sig ? tx : { ...tx, sig };
  });
}

/** Rows an INSERT added. */
async function added(query: Promise<unknown>): Promise<number> {
  const [res] = (await query) as [{ affectedRows: number }];
  return res.affectedRows;
}
