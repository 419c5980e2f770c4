/**
 * The next AUTO_INCREMENT id of each table, as this node last saw MySQL assign it, so that an INSERT
 * can name its ids before it runs (plan.ts planInsertAhead) and go out with its pool entry in one
 * round trip. Learned from INSERTs MySQL gave ids to; forgotten when a reserved id turns out to be
 * taken, or when rows may have come another way (replayed blocks, peers' txs, schema changes). A
 * stale guess costs one failed attempt, never a wrong row: MySQL refuses a taken id.
 */
export class AutoIdReservations {
  private readonly next = new Map<string, bigint>();

  /** The first of `rows` consecutive ids for `table`, now reserved; null when not known. */
  reserve(table: string, rows: number): bigint | null {
    const first = this.next.get(table);
    if (first === undefined) return null;
    this.next.set(table, first + BigInt(rows));
    return first;
  }

  /** MySQL just assigned ids below `nextId` in `table`. */
  learn(table: string, nextId: bigint): void {
    const known = this.next.get(table);
    if (known === undefined || nextId > known) this.next.set(table, nextId);
  }

  forget(table: string): void {
    this.next.delete(table);
  }

  clear(): void {
    this.next.clear();
  }
}
