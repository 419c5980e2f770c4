/** Printing results: one JSON object with --json, else the human text. */
export function emit(opts: { json?: boolean }, value: unknown, human: string | (() => string)): void {
  const text = opts.json ? JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) : typeof human === 'function' ? human() : human;
  process.stdout.write(text + '\n');
}

/** Progress for people; on stderr so --json output stays one object on stdout. */
export function progress(msg: string): void {
  process.stderr.write(msg + '\n');
}

export const isoTime = (ms: number): string => new Date(ms).toISOString();
