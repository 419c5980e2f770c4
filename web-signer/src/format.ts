/** How values read on screen: short hashes, times, coins with their sign. */

/** `abcdef0123…` (the full value goes in a title or a copyable field). */
export function short(hash: string, n = 12): string {
  return hash.length > n + 1 ? `${hash.slice(0, n)}…` : hash;
}

export function when(ms: number): string {
  if (!ms) return '';
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** "+1.5" / "-1" / "0": a net change of coins. */
export function signed(coins: string): string {
  return coins.startsWith('-') || coins === '0' ? coins : `+${coins}`;
}

export function coinsLabel(coins: string): string {
  return `${coins} ${coins === '1' ? 'coin' : 'coins'}`;
}
