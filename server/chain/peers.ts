/**
 * The node's stored peer list (`<db>_chain`.peers): what `addnode`/`removenode` change and
 * `getpeerinfo` shows. Talking to peers is the peer protocol's job; this only keeps the list.
 */
import type { RowDataPacket } from 'mysql2/promise';
import type { ChainStore } from './store.ts';

export interface StoredPeer {
  addr: string;
  added: number;
  lastSeen: number | null;
  score: number;
}

export class PeerError extends Error {
  override name = 'PeerError';
  constructor(
    readonly code: 'already-added' | 'not-added',
    readonly addr: string,
    message: string,
  ) {
    super(message);
  }
}

/** `HOST:PORT` as a peer is named: a host name, IPv4 or [IPv6], and a port from 1 to 65535. */
export const PEER_ADDR = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/;

export function isPeerAddr(s: string): boolean {
  const m = PEER_ADDR.exec(s);
  return !!m && s.length <= 255 && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
}

/** Host names are case-insensitive: one spelling per peer. */
export const normalizePeerAddr = (s: string): string => s.toLowerCase();

export class PeerList {
  constructor(private readonly store: ChainStore) {}

  private get table(): string {
    return `${this.store.db}.peers`;
  }

  async list(): Promise<StoredPeer[]> {
    const [rows] = await this.store.mysql.query<RowDataPacket[]>(`SELECT addr, added, last_seen, score FROM ${this.table} ORDER BY added, addr`);
    return rows.map((r) => ({ addr: r.addr, added: Number(r.added), lastSeen: r.last_seen === null ? null : Number(r.last_seen), score: r.score }));
  }

  async add(addr: string, now = Date.now()): Promise<StoredPeer> {
    const [res] = await this.store.mysql.query<RowDataPacket[]>(`INSERT IGNORE INTO ${this.table} (addr, added) VALUES (?, ?)`, [addr, now]);
    if ((res as unknown as { affectedRows: number }).affectedRows === 0) throw new PeerError('already-added', addr, `peer ${addr} is already in the peer list`);
    return { addr, added: now, lastSeen: null, score: 0 };
  }

  async remove(addr: string): Promise<void> {
    const [res] = await this.store.mysql.query<RowDataPacket[]>(`DELETE FROM ${this.table} WHERE addr = ?`, [addr]);
    if ((res as unknown as { affectedRows: number }).affectedRows === 0) throw new PeerError('not-added', addr, `peer ${addr} is not in the peer list`);
  }
}

/** Peers this node has reached, newest first: where it looks for the network at its next start. */
export class KnownPeers {
  /** Addresses not reached for this long are forgotten. */
  static readonly FORGET_AFTER_MS = 14 * 24 * 3600_000;
  /** At most this many are tried at a start. */
  static readonly MAX_LOADED = 64;

  constructor(private readonly store: ChainStore) {}

  private get table(): string {
    return `${this.store.db}.known_peers`;
  }

  async recent(now = Date.now()): Promise<string[]> {
    await this.store.mysql.query(`DELETE FROM ${this.table} WHERE last_seen < ?`, [now - KnownPeers.FORGET_AFTER_MS]);
    const [rows] = await this.store.mysql.query<RowDataPacket[]>(`SELECT addr FROM ${this.table} ORDER BY last_seen DESC LIMIT ?`, [KnownPeers.MAX_LOADED]);
    return rows.map((r) => String(r.addr));
  }

  async seen(addr: string, now = Date.now()): Promise<void> {
    await this.store.mysql.query(`INSERT INTO ${this.table} (addr, last_seen) VALUES (?, ?) ON DUPLICATE KEY UPDATE last_seen = VALUES(last_seen)`, [addr, now]);
  }

  async forget(addr: string): Promise<void> {
    await this.store.mysql.query(`DELETE FROM ${this.table} WHERE addr = ?`, [addr]);
  }
}
