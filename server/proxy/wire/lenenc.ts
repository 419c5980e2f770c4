/**
 * Primitive field codecs: fixed little-endian ints, length-encoded ints and strings,
 * NUL-terminated strings. PayloadReader is a bounds-checked cursor over one payload (throws
 * ProtocolError instead of reading garbage); PayloadWriter builds one.
 *
 * Length-encoded int: < 0xFB is one byte; 0xFC + 2 bytes; 0xFD + 3 bytes; 0xFE + 8 bytes.
 * 0xFB is NULL in text rows, 0xFF starts an ERR packet: neither is a valid int prefix.
 */
import { ProtocolError } from './errors.ts';

/** 0xFB: a NULL column value in a text row. */
export const NULL_MARKER = 0xfb;

/** Bytes a length-encoded int takes for this value. */
export function lenencIntLength(v: number | bigint): number {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`not a length-encoded int: ${v}`);
    return v < 0xfb ? 1 : v < 0x10000 ? 3 : v < 0x1000000 ? 4 : 9;
  }
  const n = v;
  if (n < 0n) throw new RangeError(`length-encoded int cannot be negative: ${v}`);
  if (n < 0xfbn) return 1;
  if (n < 0x10000n) return 3;
  if (n < 0x1000000n) return 4;
  if (n <= 0xffffffffffffffffn) return 9;
  throw new RangeError(`length-encoded int too large: ${v}`);
}

/** Encodes a length-encoded int. */
export function encodeLenencInt(v: number | bigint): Buffer {
  const size = lenencIntLength(v);
  const out = Buffer.allocUnsafe(size);
  writeLenencIntAt(out, 0, v, size);
  return out;
}

function writeLenencIntAt(buf: Buffer, at: number, v: number | bigint, size: number): number {
  if (size === 1) {
    buf[at] = Number(v);
  } else if (size === 3) {
    buf[at] = 0xfc;
    buf.writeUInt16LE(Number(v), at + 1);
  } else if (size === 4) {
    buf[at] = 0xfd;
    buf.writeUIntLE(Number(v), at + 1, 3);
  } else {
    buf[at] = 0xfe;
    buf.writeBigUInt64LE(BigInt(v), at + 1);
  }
  return at + size;
}

/**
 * Decodes a length-encoded int at `offset` without a cursor (the response tracker's hot path).
 * Returns null when `buf` ends before the int does; throws on 0xFB/0xFF.
 */
export function readLenencInt(buf: Buffer, offset: number): { value: number | bigint; size: number } | null {
  if (offset >= buf.length) return null;
  const first = buf[offset];
  if (first < 0xfb) return { value: first, size: 1 };
  const size = first === 0xfc ? 3 : first === 0xfd ? 4 : first === 0xfe ? 9 : 0;
  if (size === 0) throw new ProtocolError(`0x${first.toString(16)} is not a length-encoded int`);
  if (offset + size > buf.length) return null;
  if (size === 3) return { value: buf.readUInt16LE(offset + 1), size };
  if (size === 4) return { value: buf.readUIntLE(offset + 1, 3), size };
  return { value: toNumberIfSafe(buf.readBigUInt64LE(offset + 1)), size };
}

function toNumberIfSafe(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** A bounds-checked reading cursor over one packet payload. */
export class PayloadReader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    offset = 0,
    /** What is being parsed, for error messages. */
    private readonly what = 'packet',
  ) {
    this.pos = offset;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new ProtocolError(`${this.what} truncated: needed ${n} byte(s) at offset ${this.pos} of ${this.buf.length}`);
    }
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u24(): number {
    this.need(3);
    const v = this.buf.readUIntLE(this.pos, 3);
    this.pos += 3;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A length-encoded int as bigint (values up to 2^64 - 1). */
  lenencBig(): bigint {
    const first = this.u8();
    if (first < 0xfb) return BigInt(first);
    if (first === 0xfc) return BigInt(this.u16());
    if (first === 0xfd) return BigInt(this.u24());
    if (first === 0xfe) return this.u64();
    throw new ProtocolError(`${this.what}: 0x${first.toString(16)} at offset ${this.pos - 1} is not a length-encoded int`);
  }

  /** A length-encoded int that must fit a JS number (lengths, counts). */
  lenenc(): number {
    const v = this.lenencBig();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError(`${this.what}: length ${v} too large`);
    return Number(v);
  }

  /** A length-encoded string as bytes (a view, not a copy). */
  lenencBytes(): Buffer {
    return this.bytes(this.lenenc());
  }

  /** A length-encoded string, or null for the 0xFB NULL marker (text rows). */
  lenencBytesOrNull(): Buffer | null {
    this.need(1);
    if (this.buf[this.pos] === NULL_MARKER) {
      this.pos++;
      return null;
    }
    return this.lenencBytes();
  }

  lenencString(): string {
    return this.lenencBytes().toString('utf8');
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** Bytes up to (not including) a NUL, which is consumed. Without a NUL: the rest, if allowed. */
  nulBytes(allowUnterminated = false): Buffer {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) {
      if (!allowUnterminated) throw new ProtocolError(`${this.what}: missing NUL terminator after offset ${this.pos}`);
      return this.rest();
    }
    const v = this.buf.subarray(this.pos, end);
    this.pos = end + 1;
    return v;
  }

  nulString(allowUnterminated = false): string {
    return this.nulBytes(allowUnterminated).toString('utf8');
  }

  rest(): Buffer {
    const v = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return v;
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
}

/** Builds a payload; grows by doubling. */
export class PayloadWriter {
  private buf: Buffer;
  private len = 0;

  constructor(initialSize = 64) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16LE(v & 0xffff, this.len);
    this.len += 2;
    return this;
  }
  u24(v: number): this {
    this.ensure(3);
    this.buf.writeUIntLE(v & 0xffffff, this.len, 3);
    this.len += 3;
    return this;
  }
  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.len);
    this.len += 4;
    return this;
  }
  u64(v: bigint | number): this {
    this.ensure(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.len);
    this.len += 8;
    return this;
  }
  lenenc(v: number | bigint): this {
    const size = lenencIntLength(v);
    this.ensure(size);
    this.len = writeLenencIntAt(this.buf, this.len, v, size);
    return this;
  }
  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }
  /** A string as UTF-8 bytes, no length prefix. */
  string(s: string): this {
    return this.bytes(Buffer.from(s, 'utf8'));
  }
  lenencBytes(b: Uint8Array): this {
    return this.lenenc(b.length).bytes(b);
  }
  lenencString(s: string): this {
    return this.lenencBytes(Buffer.from(s, 'utf8'));
  }
  nulString(s: string): this {
    return this.string(s).u8(0);
  }
  zeros(n: number): this {
    this.ensure(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
    return this;
  }

  get length(): number {
    return this.len;
  }

  /** The payload (a view of the internal buffer; do not write more after taking it). */
  finish(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}
