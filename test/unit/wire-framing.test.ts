import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PacketReader, encodePacket, encodePackets, fragmentCount, type Packet } from '../../server/proxy/wire/framing.ts';
import { FramingError } from '../../server/proxy/wire/errors.ts';
import { MAX_PACKET_PAYLOAD } from '../../server/proxy/wire/constants.ts';

const MAX = MAX_PACKET_PAYLOAD;

function readAll(chunks: Buffer[]): Packet[] {
  const r = new PacketReader();
  const out: Packet[] = [];
  for (const c of chunks) out.push(...r.push(c));
  assert.equal(r.pendingBytes, 0);
  return out;
}

test('framing: header layout and sequence ids', () => {
  const b = encodePacket(Buffer.from('abc'), 7);
  assert.deepEqual([...b], [3, 0, 0, 7, 0x61, 0x62, 0x63]);
  assert.deepEqual([...encodePacket(Buffer.alloc(0), 255)], [0, 0, 0, 255]);
  const { buffer, nextSeq } = encodePackets([Buffer.from('a'), Buffer.from('bc')], 255);
  assert.deepEqual([...buffer], [1, 0, 0, 255, 0x61, 2, 0, 0, 0, 0x62, 0x63]);
  assert.equal(nextSeq, 1);
});

test('framing: a stream split at every byte position decodes the same', () => {
  const payloads = [Buffer.from('hello'), Buffer.alloc(0), randomBytes(300), Buffer.from([0xfe, 0, 0, 2, 0])];
  const { buffer } = encodePackets(payloads, 0);
  const check = (pkts: Packet[]) => {
    assert.equal(pkts.length, payloads.length);
    pkts.forEach((p, i) => {
      assert.deepEqual(p.payload, payloads[i]);
      assert.equal(p.seq, i);
      assert.equal(p.lastSeq, i);
      assert.deepEqual(p.raw, encodePacket(payloads[i], i));
    });
  };
  for (let cut = 0; cut <= buffer.length; cut++) check(readAll([buffer.subarray(0, cut), buffer.subarray(cut)]));
  for (let cut = 0; cut < buffer.length; cut += 7) {
    check(readAll([buffer.subarray(0, cut), buffer.subarray(cut, cut + 3), buffer.subarray(cut + 3)]));
  }
  check(readAll([...buffer].map((b) => Buffer.from([b]))));
  // one packet per chunk (the reader's shortcut), also right after a packet split in two
  check(readAll(payloads.map((p, i) => encodePacket(p, i))));
  const [first, ...rest] = payloads.map((p, i) => encodePacket(p, i));
  check(readAll([first.subarray(0, 2), first.subarray(2), ...rest]));
});

test('framing: a whole packet in one chunk is a view, not a copy', () => {
  const chunk = encodePacket(Buffer.from('xyz'), 0);
  const [p] = new PacketReader().push(chunk);
  assert.equal(p.raw.buffer, chunk.buffer);
  assert.equal(p.payload.byteOffset, chunk.byteOffset + 4);
});

test('framing: 16 MiB continuation, both ways', () => {
  assert.equal(fragmentCount(0), 1);
  assert.equal(fragmentCount(MAX - 1), 1);
  assert.equal(fragmentCount(MAX), 2);
  assert.equal(fragmentCount(2 * MAX + 5), 3);

  for (const size of [MAX - 1, MAX, MAX + 10, 2 * MAX + 5]) {
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4093) payload[i] = (i >> 12) & 0xff;
    payload[size - 1] = 0x5a;
    const seq = 254; // continuation wraps the sequence id past 255
    const framed = encodePacket(payload, seq);
    const n = fragmentCount(size);
    assert.equal(framed.length, size + 4 * n);
    // Physical headers: full packets then the remainder (0 bytes when size is a multiple).
    let at = 0;
    for (let k = 0; k < n; k++) {
      const len = framed.readUIntLE(at, 3);
      assert.equal(len, k < n - 1 ? MAX : size - (n - 1) * MAX);
      assert.equal(framed[at + 3], (seq + k) & 0xff);
      at += 4 + len;
    }
    // Read back in 64 KiB chunks, then followed by a small packet in the same chunk.
    const tail = encodePacket(Buffer.from('next'), (seq + n) & 0xff);
    const stream = Buffer.concat([framed, tail]);
    const chunks: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 65536) chunks.push(stream.subarray(i, i + 65536));
    const pkts = readAll(chunks);
    assert.equal(pkts.length, 2);
    assert.equal(pkts[0].payload.length, size);
    assert.ok(pkts[0].payload.equals(payload));
    assert.ok(pkts[0].raw.equals(framed));
    assert.equal(pkts[0].seq, seq);
    assert.equal(pkts[0].lastSeq, (seq + n - 1) & 0xff);
    assert.equal(pkts[1].payload.toString(), 'next');
  }
});

test('framing: a continuation with the wrong sequence id is a FramingError', () => {
  const payload = Buffer.alloc(MAX + 1);
  const framed = Buffer.from(encodePacket(payload, 3));
  framed[4 + MAX + 3] = 9;
  assert.throws(() => new PacketReader().push(framed), FramingError);
});

test('framing: takePending returns unread bytes, including an unfinished continuation', () => {
  const r = new PacketReader();
  const a = encodePacket(Buffer.from('one'), 0);
  const big = encodePacket(Buffer.alloc(MAX + 3, 1), 1);
  const partial = big.subarray(0, MAX + 4 + 2);
  assert.equal(r.push(Buffer.concat([a, partial])).length, 1);
  assert.equal(r.pendingBytes, partial.length);
  assert.ok(r.takePending().equals(partial));
  assert.equal(r.pendingBytes, 0);
  assert.equal(r.push(Buffer.from([1, 0])).length, 0);
  assert.deepEqual([...r.takePending()], [1, 0]);
});
