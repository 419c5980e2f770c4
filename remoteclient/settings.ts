/**
 * `<dir>/config.json`: the node this client talks to and the chain it is pinned to. The pin (genesis
 * and consensus hash, checked against each other when first seen) lets the client refuse a body
 * made for another chain, whatever the node says later.
 */
import { z } from 'zod';
import { RemoteError } from './errors.ts';
import { readIfExists, writePrivateFile } from './files.ts';

export const DEFAULT_NODE_URL = 'http://127.0.0.1:8765/rpc';

const Hash = z.string().regex(/^[0-9a-f]{64}$/);
const SettingsSchema = z.strictObject({
  node: z.string().default(DEFAULT_NODE_URL),
  /** Genesis hash of the pinned chain. */
  chain: Hash.optional(),
  /** Consensus config hash of the pinned chain (the genesis commits to it). */
  consensus: Hash.optional(),
});
export type Settings = z.infer<typeof SettingsSchema>;

export async function readSettings(file: string): Promise<Settings> {
  const text = await readIfExists(file);
  let json: unknown = {};
  if (text !== undefined) {
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new RemoteError(`${file} is not valid JSON: ${(e as Error).message}`);
    }
  }
  const r = SettingsSchema.safeParse(json);
  if (!r.success) throw new RemoteError(`${file}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

export async function writeSettings(file: string, s: Settings): Promise<void> {
  await writePrivateFile(file, JSON.stringify(s, null, 2) + '\n');
}

/**
 * A node URL as typed: http(s) only; a URL without a path gets `/rpc`. Credentials in it
 * (`http://user:pass@host:8765`) are kept: they become HTTP Basic auth.
 */
export function normalizeNodeUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(input) ? input : `http://${input}`);
  } catch {
    throw new RemoteError(`"${input}" is not a node URL (like http://127.0.0.1:8765/rpc)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RemoteError(`node URL must be http or https, got ${url.protocol}`);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/rpc';
  return url.toString();
}
