/** What every command starts from: the options, the client's files and a caller for its node. */
import { KeystoreError } from './errors.ts';
import { Keystore, type KeyRing } from './keystore.ts';
import { remotePaths, resolveDir } from './paths.ts';
import { readPassphrase } from './prompt.ts';
import { nodeClient, type Call } from './rpc.ts';
import { normalizeNodeUrl, readSettings, type Settings } from './settings.ts';

export interface RemoteOptions {
  dir?: string;
  /** A node URL for this command only (setnode saves one). */
  node?: string;
  json?: boolean;
  /** Sign without asking on the terminal. */
  yes?: boolean;
}

export interface Session {
  opts: RemoteOptions;
  paths: ReturnType<typeof remotePaths>;
  settings: Settings;
  nodeUrl: string;
  call: Call;
  keystore: Keystore;
}

export async function openSession(opts: RemoteOptions): Promise<Session> {
  const paths = remotePaths(resolveDir(opts.dir));
  const settings = await readSettings(paths.settings);
  const nodeUrl = normalizeNodeUrl(opts.node ?? settings.node);
  return { opts, paths, settings, nodeUrl, call: nodeClient(nodeUrl), keystore: await Keystore.open(paths.keystore) };
}

/** Asks for the passphrase and opens the keystore with it (a new keystore takes it as its own). */
export async function unlock(s: Session): Promise<KeyRing> {
  return s.keystore.unlock(await readPassphrase({ isNew: !s.keystore.initialized }));
}

/** `--from`, or the keystore's first address; it must be in the keystore. */
export function senderAddress(s: Session, from?: string): { address: string; pubkey: string } {
  const keys = s.keystore.list();
  if (keys.length === 0) throw new KeystoreError(`the keystore ${s.paths.keystore} holds no key: run \`oursql-remote createwallet\` or \`importwallet\``);
  const key = from === undefined ? keys[0] : keys.find((k) => k.address === from);
  if (!key) throw new KeystoreError(`address ${from} is not in the keystore ${s.paths.keystore} (listaddresses shows its addresses)`);
  return key;
}
