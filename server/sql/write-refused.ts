/**
 * A replicated update OurSQL will not run, with a message a person can act on. Nothing has been
 * executed when it is thrown (the proxy maps it by `name` and `errno`: server/proxy/errors.ts).
 */

/** The errnos (4100s, the user range, docs/errors.md) a refusal carries; same numbers as the proxy's ER. */
export const REFUSED_ERRNO = {
  /** cannot be replicated at all (no primary key, unsupported form, triggers, ...) */
  notReplicated: 4103,
  /** over a documented limit (rows per statement, undo size) */
  limit: 4108,
  /** cannot be made deterministic (RAND() on many rows, user variables, session functions, ...) */
  nonDeterministic: 4111,
} as const;

export type RefusedKind = keyof typeof REFUSED_ERRNO;

export class WriteRefused extends Error {
  override name = 'WriteRefused';
  readonly errno: number;
  constructor(message: string, readonly kind: RefusedKind = 'notReplicated') {
    super(message);
    this.errno = REFUSED_ERRNO[kind];
  }
}
