/**
 * What `importwallet` reads (and the web signer imports): the JSON `exportwallet` writes
 * (`{"keys":[{"privateKey":"<hex>", ...}]}`), or one private key (hex) per line, `#` lines skipped.
 * Pure: the keys are checked when they are added to a keystore.
 */
import { z } from 'zod';
import { RemoteError } from './errors.ts';

const ExportFile = z.object({ keys: z.array(z.object({ privateKey: z.string() }).loose()).min(1) });

/** The private keys in `text`; `name` says which file in errors. */
export function keysInExport(name: string, text: string): string[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    if (lines.length === 0) throw new RemoteError(`${name} holds no key`);
    return lines;
  }
  const r = ExportFile.safeParse(json);
  if (!r.success) throw new RemoteError(`${name} is not a file exportwallet writes ({"keys":[{"privateKey":"<hex>"}, ...]})`);
  return r.data.keys.map((k) => k.privateKey);
}
