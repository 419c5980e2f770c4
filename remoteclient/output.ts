/** Printing: one JSON object on stdout with --json, else text for people; notes go to stderr. */
export function emit(opts: { json?: boolean }, value: unknown, human: string | (() => string)): void {
  process.stdout.write((opts.json ? JSON.stringify(value) : typeof human === 'function' ? human() : human) + '\n');
}

export function note(msg: string): void {
  process.stderr.write(msg + '\n');
}
