/**
 * The keystore of oursql-remote: the file `<dir>/keystore.json` (mode 0600, replaced atomically),
 * sealed as keystore-core.ts says.
 */
import { readIfExists, writePrivateFile } from './files.ts';
import { SealedKeystore, type KeystoreStorage } from './keystore-core.ts';

export { KeyRing, type KeyEntry, type PublicKeyInfo } from './keystore-core.ts';

export function fileStorage(file: string): KeystoreStorage {
  return { name: file, read: () => readIfExists(file), write: (text) => writePrivateFile(file, text) };
}

export class Keystore extends SealedKeystore {
  /** Reads the keystore file; an absent file is an empty keystore (made at the first key). */
  static async open(file: string): Promise<Keystore> {
    const storage = fileStorage(file);
    return new Keystore(storage, await SealedKeystore.read(storage));
  }
}
