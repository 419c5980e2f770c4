/**
 * Questions to the person at the terminal: the passphrase (hidden) and the confirmation before
 * signing. Scripts give the passphrase in OURSQL_PASSPHRASE and need no terminal.
 */
import { createInterface } from 'node:readline/promises';
import { KeystoreError } from './errors.ts';

export const PASSPHRASE_ENV = 'OURSQL_PASSPHRASE';

const onTerminal = (): boolean => !!process.stdin.isTTY && !!process.stderr.isTTY;

async function ask(question: string, hidden: boolean): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  let muted = false;
  // readline echoes what is typed through _writeToOutput: keep the prompt, hide the passphrase.
  const echo = rl as unknown as { _writeToOutput(s: string): void };
  echo._writeToOutput = (s: string) => {
    if (!muted) process.stderr.write(s);
  };
  try {
    const answer = rl.question(question);
    muted = hidden;
    return await answer;
  } finally {
    rl.close();
    if (hidden) process.stderr.write('\n');
  }
}

/**
 * The keystore passphrase: OURSQL_PASSPHRASE, else asked on the terminal (twice when it is a new
 * one). Without either the command fails: it never waits on a pipe.
 */
export async function readPassphrase(opts: { isNew: boolean }): Promise<string> {
  const env = process.env[PASSPHRASE_ENV];
  if (env !== undefined) {
    if (!env) throw new KeystoreError(`${PASSPHRASE_ENV} is empty`);
    return env;
  }
  if (!onTerminal()) throw new KeystoreError(`the keystore needs its passphrase: run on a terminal or set ${PASSPHRASE_ENV}`);
  const first = await ask(opts.isNew ? 'New keystore passphrase: ' : 'Keystore passphrase: ', true);
  if (!first) throw new KeystoreError('the passphrase is empty');
  if (opts.isNew && (await ask('Repeat the passphrase: ', true)) !== first) throw new KeystoreError('the two passphrases differ');
  return first;
}

/** Asks "sign and send?" on a terminal; scripts (no terminal) and --yes go on without asking. */
export async function confirmSigning(yes: boolean): Promise<boolean> {
  if (yes || !onTerminal()) return true;
  return /^y(es)?$/i.test((await ask('Sign and send this transaction? [y/N] ', false)).trim());
}
