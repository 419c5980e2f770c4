/** `config [--set key=value]...`: shows or edits `<datadir>/config.json` (a running node applies it at restart). */
import { checkAddress } from '../../../consensus/index.ts';
import { parseMysqlUrl } from '../../mysql/url.ts';
import { NodeConfigSchema, requireNodeConfig, resolveDatadir, writeNodeConfig, type NodeConfig } from '../../node/datadir.ts';
import { runningNode } from '../daemon.ts';
import { CliError } from '../errors.ts';
import type { CommonOptions } from '../options.ts';
import { emit, progress } from '../output.ts';

function port(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 65535) throw new CliError(`must be a port number from 0 to 65535, got "${v}"`);
  return Number(v);
}
function bool(v: string): boolean {
  if (v === 'true' || v === 'on' || v === '1') return true;
  if (v === 'false' || v === 'off' || v === '0') return false;
  throw new CliError(`must be true or false, got "${v}"`);
}
function positive(v: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(v)) throw new CliError(`must be a whole number of at least 1, got "${v}"`);
  return Number(v);
}
function seconds(v: string): number {
  if (!/^\d{1,5}(\.\d{1,6})?$/.test(v) || Number(v) > 86_400) throw new CliError(`must be a number of seconds from 0 to 86400, got "${v}"`);
  return Number(v);
}
function text(v: string): string {
  if (!v) throw new CliError('must not be empty');
  return v;
}

/** The keys `config --set` may change, each with its parser. */
const SETTABLE: Record<string, (v: string) => unknown> = {
  rpcPort: port,
  proxyPort: port,
  host: text,
  minter: (v) => checkAddress(v, 'minter'),
  // "none" turns node-signed proxy updates off (client-signed only).
  proxyKey: (v) => (v === 'none' || v === 'null' ? null : checkAddress(v, 'proxyKey')),
  mining: bool,
  proxyMaxConnections: positive,
  proxyIdleTimeoutSeconds: positive,
  proxyRelayProcesses: (v) => {
    if (v === 'auto') return v;
    if (!/^[0-9]{1,2}$/.test(v) || Number(v) > 64) throw new CliError(`must be "auto" or a whole number from 0 to 64, got "${v}"`);
    return Number(v);
  },
  peerStatementSeconds: seconds,
  mysql: (v) => (parseMysqlUrl(v), v),
  rpcUser: text,
  rpcPassword: text,
};

const shown = (c: NodeConfig) => ({ ...c, ...(c.rpcPassword !== undefined && { rpcPassword: '********' }) });

export async function configCommand(opts: CommonOptions & { set?: string[] }): Promise<void> {
  const datadir = resolveDatadir(opts.datadir);
  let config = await requireNodeConfig(datadir);
  const changed: string[] = [];
  for (const pair of opts.set ?? []) {
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq) : '';
    if (!Object.hasOwn(SETTABLE, key)) throw new CliError(`--set takes key=value with key one of ${Object.keys(SETTABLE).join(', ')}; got "${pair}"`);
    let value: unknown;
    try {
      value = SETTABLE[key](pair.slice(eq + 1));
    } catch (e) {
      throw new CliError(`${key} ${(e as Error).message}`);
    }
    config = { ...config, [key]: value };
    changed.push(key);
  }
  if (changed.length) {
    config = NodeConfigSchema.parse(config);
    await writeNodeConfig(datadir, config);
    if (await runningNode(datadir)) progress('the node is running: restart it (oursql stop; oursql start) to apply the change');
  }
  const view = shown(config);
  emit(opts, view, () => (changed.length ? changed.map((k) => `set ${k} = ${JSON.stringify(view[k as keyof typeof view])}`) : Object.entries(view).map(([k, v]) => `${k} = ${JSON.stringify(v)}`)).join('\n'));
}
