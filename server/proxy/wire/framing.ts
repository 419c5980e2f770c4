/**
 * Packet framing: a 3-byte little-endian payload length, a 1-byte sequence id, the payload.
 * A payload of exactly 0xFFFFFF bytes means "continued in the next packet" (with the next
 * sequence id); the logical payload is the concatenation, ended by a shorter (possibly empty)
 * packet. Both directions use the same rule.
 */
import { MAX_PACKET_PAYLOAD } from './constants.ts';
import { FramingError } from './errors.ts';

export interface Packet {
  /** Sequence id of the first physical packet. */
  seq: number;
  /** Sequence id of the last physical packet (== seq unless continued); a reply uses lastSeq + 1. */
  lastSeq: number;
  /** The logical payload (continuations joined). */
  payload: Buffer;
  /** The exact bytes received, headers included, for relaying without re-encoding. */
  raw: Buffer;
}

/**
 * Incremental decoder: push() chunks as they arrive, get back the complete logical packets.
 *
 * Small packets are returned as views into the pushed chunk (no copy), so a caller that keeps a
 * packet must not reuse the chunk's memory. Bytes are copied only when a packet spans chunks.
 * Buffered chunks are joined only once the whole packet is there, so a 20 MiB packet arriving in
 * 64 KiB chunks costs one copy, not hundreds.
 */
export class PacketReader {
  private chunks: Buffer[] = [];
  /** Read offset into chunks[0]. */
  private head = 0;
  /** Buffered bytes not yet returned (excluding `fragments`). */
  private buffered = 0;
  /** Physical packets (raw, header included) of a logical packet still being continued. */
  private fragments: Buffer[] = [];

  /** Feeds a chunk and returns every logical packet it completed, in order. */
  push(chunk: Buffer): Packet[] {
    // The usual case, one whole packet in one chunk with nothing held back: no bookkeeping.
    if (this.buffered === 0 && this.fragments.length === 0 && chunk.length >= 4) {
      const len = chunk[0] | (chunk[1] << 8) | (chunk[2] << 16);
      if (chunk.length === 4 + len && len !== MAX_PACKET_PAYLOAD) return [{ seq: chunk[3], lastSeq: chunk[3], payload: chunk.subarray(4), raw: chunk }];
    }
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const out: Packet[] = [];
    while (this.buffered >= 4) {
      const len = this.byteAt(0) | (this.byteAt(1) << 8) | (this.byteAt(2) << 16);
      if (this.buffered < 4 + len) break;
      const frag = this.take(4 + len);
      const seq = frag[3];
      const prev = this.fragments.length ? this.fragments[this.fragments.length - 1][3] : -1;
      if (prev >= 0 && seq !== ((prev + 1) & 0xff)) {
        throw new FramingError(`continuation packet has sequence id ${seq}, expected ${(prev + 1) & 0xff}`);
      }
      if (len === MAX_PACKET_PAYLOAD) {
        this.fragments.push(frag);
        continue;
      }
      if (this.fragments.length === 0) {
        out.push({ seq, lastSeq: seq, payload: frag.subarray(4), raw: frag });
        continue;
      }
      this.fragments.push(frag);
      out.push(joinFragments(this.fragments));
      this.fragments = [];
    }
    return out;
  }

  /** Bytes held back: a partial packet, or the fragments of an unfinished continued packet. */
  get pendingBytes(): number {
    let n = this.buffered;
    for (const f of this.fragments) n += f.length;
    return n;
  }

  /**
   * Returns every byte not yet returned as a packet (raw, in stream order) and empties the
   * reader. Used when another consumer takes over the stream.
   */
  takePending(): Buffer {
    const parts = [...this.fragments];
    if (this.chunks.length) {
      parts.push(this.chunks[0].subarray(this.head), ...this.chunks.slice(1));
    }
    this.fragments = [];
    this.chunks = [];
    this.head = 0;
    this.buffered = 0;
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  private byteAt(i: number): number {
    let idx = this.head + i;
    for (const c of this.chunks) {
      if (idx < c.length) return c[idx];
      idx -= c.length;
    }
    throw new RangeError('byteAt past buffered data');
  }

  /** Removes n buffered bytes (n <= buffered): a view when they sit in one chunk, else a copy. */
  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
      this.buffered -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0];
      const avail = c.length - this.head;
      const want = Math.min(avail, n - filled);
      c.copy(out, filled, this.head, this.head + want);
      filled += want;
      if (want === avail) {
        this.chunks.shift();
        this.head = 0;
      } else {
        this.head += want;
      }
    }
    this.buffered -= n;
    return out;
  }
}

function joinFragments(frags: Buffer[]): Packet {
  const raw = Buffer.concat(frags);
  let size = 0;
  for (const f of frags) size += f.length - 4;
  const payload = Buffer.allocUnsafe(size);
  let at = 0;
  for (const f of frags) at += f.copy(payload, at, 4);
  return { seq: frags[0][3], lastSeq: frags[frags.length - 1][3], payload, raw };
}

/** Number of physical packets a payload of this length needs (an exact multiple of 0xFFFFFF,
 *  including 0 bytes past the last full one, ends with an empty packet). */
export function fragmentCount(payloadLength: number): number {
  return Math.floor(payloadLength / MAX_PACKET_PAYLOAD) + 1;
}

/**
 * Frames one logical payload starting at sequence id `seq`, splitting at 0xFFFFFF bytes.
 * Returns one Buffer (all physical packets) so a caller does one socket write; the next sequence
 * id is `(seq + fragmentCount(payload.length)) & 0xff`.
 */
export function encodePacket(payload: Buffer, seq: number): Buffer {
  const n = fragmentCount(payload.length);
  const out = Buffer.allocUnsafe(payload.length + 4 * n);
  let src = 0;
  let dst = 0;
  for (let i = 0; i < n; i++) {
    const len = Math.min(MAX_PACKET_PAYLOAD, payload.length - src);
    out[dst] = len & 0xff;
    out[dst + 1] = (len >> 8) & 0xff;
    out[dst + 2] = (len >> 16) & 0xff;
    out[dst + 3] = (seq + i) & 0xff;
    payload.copy(out, dst + 4, src, src + len);
    src += len;
    dst += 4 + len;
  }
  return out;
}

/** Frames consecutive payloads (e.g. a result set) into one Buffer with increasing sequence ids. */
export function encodePackets(payloads: readonly Buffer[], seq: number): { buffer: Buffer; nextSeq: number } {
  const parts: Buffer[] = [];
  let s = seq;
  for (const p of payloads) {
    parts.push(encodePacket(p, s));
    s = (s + fragmentCount(p.length)) & 0xff;
  }
  return { buffer: parts.length === 1 ? parts[0] : Buffer.concat(parts), nextSeq: s };
}
