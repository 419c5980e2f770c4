import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_MYSQL_URL } from '../mysql/url.ts';

export const DEFAULT_RPC_PORT = 8765;
export const DEFAULT_PROXY_PORT = 8766;

/** `<datadir>/config.json`: the node's own settings (not consensus). */
export const NodeConfigSchema = z.object({
  mysql: z.string().default(DEFAULT_MYSQL_URL),
  host: z.string().default('127.0.0.1'),
  rpcPort: z.number().int().min(0).max(65535).default(DEFAULT_RPC_PORT),
  proxyPort: z.number().int().min(0).max(65535).default(DEFAULT_PROXY_PORT),
  /** Address the block rewards go to. */
  minter: z.string().optional(),
  /** Address whose node-held key signs plain updates from the proxy; null = client-signed only. */
  proxyKey: z.string().nullable().optional(),
  peers: z.array(z.string()).default([]),
  /** Learn peers from peers (getpeers, nodes that connect here); off: talk only to configured and added peers. */
  peerDiscovery: z.boolean().default(true),
  /** HOST:PORT peers reach this node at, when it is not the bound host and RPC port (NAT, 0.0.0.0). */
  publicAddress: z.string().optional(),
  mining: z.boolean().default(true),
  /** Client connections the MySQL proxy accepts at once (more get ER 1040). */
  proxyMaxConnections: z.number().int().min(1).default(500),
  /** A proxy connection with no command for this long is closed (as MySQL's wait_timeout). */
  proxyIdleTimeoutSeconds: z.number().int().min(1).default(28_800),
  /** Processes besides the node's own that relay proxy connections which only read (docs/sql.md, "Read-relay processes"). */
  proxyRelayProcesses: z.union([z.literal('auto'), z.number().int().min(0).max(64)]).default(0),
  /** How long one statement of a peer's tx may run when it is pooled here (MariaDB's max_statement_time); 0: no limit. */
  peerStatementSeconds: z.number().min(0).max(86_400).default(10),
  rpcUser: z.string().optional(),
  rpcPassword: z.string().optional(),
});
export type NodeConfig = z.infer<typeof NodeConfigSchema>;

export class DatadirError extends Error {
  override name = 'DatadirError';
}

export function resolveDatadir(flag?: string): string {
  return resolve(flag ?? process.env.OURSQL_DATADIR ?? join(homedir(), '.oursql'));
}

export function datadirPaths(datadir: string) {
  return {
    config: join(datadir, 'config.json'),
    consensus: join(datadir, 'consensus.json'),
    wallet: join(datadir, 'wallet.json'),
    cookie: join(datadir, 'rpc.cookie'),
    pid: join(datadir, 'oursql.pid'),
    log: join(datadir, 'oursql.log'),
    mysql: join(datadir, 'mysql'),
  };
}

/** The datadir's config; a DatadirError that says to run `oursql init` when there is none. */
export async function requireNodeConfig(datadir: string): Promise<NodeConfig> {
  const config = await readNodeConfig(datadir);
  if (!config) throw new DatadirError(`${datadir} holds no node: run \`oursql init\` first`);
  return config;
}

export async function readNodeConfig(datadir: string): Promise<NodeConfig | undefined> {
  let text: string;
  try {
    text = await readFile(datadirPaths(datadir).config, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DatadirError(`${datadirPaths(datadir).config} is not valid JSON: ${(e as Error).message}`);
  }
  const r = NodeConfigSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new DatadirError(`${datadirPaths(datadir).config}: ${i.path.join('.')}: ${i.message}`);
  }
  return r.data;
}

export async function writeNodeConfig(datadir: string, cfg: NodeConfig): Promise<void> {
  await mkdir(datadir, { recursive: true });
  const file = datadirPaths(datadir).config;
  await writeFile(`${file}.tmp`, JSON.stringify(cfg, null, 2) + '\n');
  await rename(`${file}.tmp`, file);
}

export async function readConsensusText(datadir: string): Promise<string> {
  try {
    return await readFile(datadirPaths(datadir).consensus, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new DatadirError(`no consensus.json in ${datadir}: run \`oursql init\` first`);
    throw e;
  }
}
