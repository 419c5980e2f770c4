// Several real nodes in this process, each with its own datadir and databases, talking over
// loopback HTTP: the first is initialised, the others imported from it (same chain).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import mysql, { type Connection } from 'mysql2/promise';
import { initNode } from '../../server/node/init.ts';
import { importNode } from '../../server/node/import.ts';
import { OursqlNode, type NodeOverrides } from '../../server/node/node.ts';
import { readNodeConfig, writeNodeConfig } from '../../server/node/datadir.ts';
import { rootConnection } from './mysql.ts';
import { tempNodeDir } from './node.ts';
import { FaultyProxy } from './faulty-proxy.ts';

/** 8-bit proof of work and a block as soon as one tx waits: blocks come as fast as asked for. */
export const CLUSTER_CONSENSUS = {
  CoinsForBlockMade: 10,
  Settings: { Complexity: 8, ComplexityStep2: 8, MaxMinNumberTransactionInBlock: 1, MaxNumberTransactionInBlock: 10000 },
};

export interface ClusterNode {
  node: OursqlNode;
  env: Awaited<ReturnType<typeof tempNodeDir>>;
  addr: string;
  db: string;
  logs: string[];
  sql(): Promise<Connection>;
}

/** Test hooks passed to the node (see OursqlNode.start). */
export interface NodeHooks {
  /** Runs inside each block's MySQL transaction, just before its COMMIT. */
  beforeCommit?: () => Promise<void>;
}

export class Cluster {
  readonly nodes: ClusterNode[] = [];
  private readonly conns: Connection[] = [];
  private root?: Connection;

  /** The seed node: a new chain. */
  async seed(overrides: NodeOverrides = {}, hooks: NodeHooks = {}): Promise<ClusterNode> {
    const env = await tempNodeDir('mesh');
    return this.cleanOnError(env, async () => {
      const file = join(env.tmp, 'cluster-consensus.json');
      await writeFile(file, JSON.stringify(CLUSTER_CONSENSUS));
      await initNode({ datadir: env.datadir, mysql: env.db.url, consensusFile: file });
      return this.start(env, overrides, hooks);
    });
  }

  /** A node imported from `from`, knowing only the peers in `peers` (default: `from`). */
  async join(from: ClusterNode, overrides: NodeOverrides = {}, peers?: string[]): Promise<ClusterNode> {
    const env = await tempNodeDir('mesh');
    return this.cleanOnError(env, async () => {
      await importNode({ datadir: env.datadir, peer: from.addr, mysql: env.db.url });
      if (peers) {
        const cfg = (await readNodeConfig(env.datadir))!;
        await writeNodeConfig(env.datadir, { ...cfg, peers });
      }
      return this.start(env, overrides);
    });
  }

  /** A node that cannot be set up leaves no database behind. */
  private async cleanOnError<T>(env: Awaited<ReturnType<typeof tempNodeDir>>, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      await env.cleanup().catch(() => {});
      throw e;
    }
  }

  private async start(env: Awaited<ReturnType<typeof tempNodeDir>>, overrides: NodeOverrides, hooks: NodeHooks = {}): Promise<ClusterNode> {
    const logs: string[] = [];
    const tag = env.db.name.slice(-4);
    const node = await OursqlNode.start({
      datadir: env.datadir,
      overrides: { rpcPort: 0, proxyPort: 0, mining: false, ...overrides },
      ...hooks,
      log: (m) => {
        logs.push(m);
        if (process.env.DEBUG_CLUSTER) console.error(`[${tag}] ${m}`);
      },
    });
    const c: ClusterNode = {
      node, env, logs, db: env.db.name, addr: `127.0.0.1:${node.rpcPort}`,
      sql: async () => {
        const conn = await mysql.createConnection({ host: '127.0.0.1', port: node.proxyPort, user: 'root', database: env.db.name });
        this.conns.push(conn);
        return conn;
      },
    };
    this.nodes.push(c);
    return c;
  }

  /** `CHECKSUM TABLE` of `table` in each node's database. */
  async checksums(table: string): Promise<string[]> {
    this.root ??= await rootConnection();
    const out: string[] = [];
    for (const n of this.nodes) {
      const [rows] = await this.root.query<any[]>(`CHECKSUM TABLE \`${n.db}\`.\`${table}\``);
      out.push(String(rows[0].Checksum));
    }
    return out;
  }

  async rows(n: ClusterNode, sql: string): Promise<any[]> {
    this.root ??= await rootConnection();
    await this.root.query(`USE \`${n.db}\``);
    return (await this.root.query<any[]>(sql))[0];
  }

  /** Each node's tip, pool and latest log lines: what a test that timed out waiting for them prints. */
  report(lines = 15): string {
    return this.nodes.map((n) => [
      `${n.addr}: height ${n.node.chain.height}, tip ${n.node.chain.tip.hash.slice(0, 16)}…, pool ${n.node.chain.pool.size}`,
      ...n.logs.slice(-lines).map((l) => `  ${l}`),
    ].join('\n')).join('\n');
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.destroy();
    await this.root?.end().catch(() => {});
    for (const n of this.nodes.reverse()) {
      await n.node.stop().catch(() => {});
      await n.env.cleanup().catch(() => {});
    }
  }
}

/**
 * Links every ordered pair of `nodes` through a FaultyProxy of its own, so any link can be cut
 * and healed, and drops the direct link to `seed` that joining by import gave the others.
 * `link(x, y)`: the proxy x dials to reach y. The caller closes `proxies`.
 */
export async function meshThroughProxies(nodes: readonly ClusterNode[], seed: ClusterNode) {
  const links = new Map<ClusterNode, Map<ClusterNode, FaultyProxy>>();
  const proxies: FaultyProxy[] = [];
  for (const x of nodes) {
    links.set(x, new Map());
    for (const y of nodes) {
      if (x === y) continue;
      const [host, port] = y.addr.split(':');
      const p = new FaultyProxy({ host, port: Number(port) });
      proxies.push(p);
      x.node.peers!.add(await p.listen());
      links.get(x)!.set(y, p);
    }
    if (x !== seed) x.node.peers!.remove(seed.addr); // it would bypass the proxies
  }
  return { proxies, link: (x: ClusterNode, y: ClusterNode) => links.get(x)!.get(y)! };
}

/** Polls `ok` until it holds (or fails the test with `what` after `ms`, and what `explain` tells). */
export async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 30_000, explain?: () => string): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await ok()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${explain ? `\n${explain()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
