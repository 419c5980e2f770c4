/** createwallet, importwallet, exportwallet, listaddresses: the keys held here. */
import { writeFile } from 'node:fs/promises';
import { newPrivateKey } from '../../consensus/index.ts';
import { KeystoreError, RemoteError } from '../errors.ts';
import { keysInExport } from '../export-file.ts';
import { readIfExists } from '../files.ts';
import { emit, note } from '../output.ts';
import { openSession, unlock, type RemoteOptions } from '../session.ts';

export async function createWalletCommand(opts: RemoteOptions): Promise<void> {
  const s = await openSession(opts);
  const ring = await unlock(s);
  const { address, pubkey } = ring.add(newPrivateKey());
  await ring.save();
  emit(opts, { address, pubkey }, `${address}\npubkey ${pubkey}`);
}

export async function importWalletCommand(file: string | undefined, opts: RemoteOptions & { privateKey?: string }): Promise<void> {
  if ((file === undefined) === (opts.privateKey === undefined)) throw new RemoteError('importwallet takes a FILE or --private-key HEX (one of them)');
  let keys: string[];
  if (file !== undefined) {
    const text = await readIfExists(file);
    if (text === undefined) throw new RemoteError(`no file ${file}`);
    keys = keysInExport(file, text);
  } else {
    keys = [opts.privateKey!];
  }
  const s = await openSession(opts);
  const ring = await unlock(s);
  const results = keys.map((k, i) => {
    try {
      return ring.add(k);
    } catch (e) {
      throw new KeystoreError(`key ${i + 1}: ${(e as Error).message}`);
    }
  });
  await ring.save();
  const imported = results.filter((r) => r.added).map(({ address, pubkey }) => ({ address, pubkey }));
  const known = results.filter((r) => !r.added).map((r) => r.address);
  emit(opts, { imported, known }, () =>
    [...imported.map((k) => `imported ${k.address}`), ...known.map((a) => `already held ${a}`)].join('\n'),
  );
}

export async function exportWalletCommand(file: string | undefined, opts: RemoteOptions): Promise<void> {
  const s = await openSession(opts);
  if (s.keystore.list().length === 0) throw new KeystoreError(`the keystore ${s.paths.keystore} holds no key`);
  const ring = await unlock(s);
  const keys = ring.list().map((k) => ({ ...k, privateKey: ring.privateKey(k.address) }));
  const text = JSON.stringify({ keys }, null, 2) + '\n';
  if (file !== undefined) {
    try {
      await writeFile(file, text, { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new RemoteError(`${file} exists: exportwallet does not overwrite files`);
      throw e;
    }
    emit(opts, { file, count: keys.length }, `wrote ${keys.length} key(s) to ${file} (private keys in clear: keep it safe)`);
    return;
  }
  note('these are private keys in clear: whoever reads them owns the coins');
  emit(opts, { keys }, () => keys.map((k) => `${k.address} ${k.privateKey}`).join('\n'));
}

export async function listAddressesCommand(opts: RemoteOptions): Promise<void> {
  const s = await openSession(opts);
  const addresses = s.keystore.list();
  emit(opts, { addresses }, () => (addresses.length ? addresses.map((a) => a.address).join('\n') : 'the keystore holds no key (createwallet makes one)'));
}
