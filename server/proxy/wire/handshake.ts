/**
 * Connection-phase packets: the server greeting (HandshakeV10), the client's
 * HandshakeResponse41, and capability negotiation, for a proxy that relays the handshake and only
 * needs to read it (and clear a few capability bits in the greeting).
 */
import { Capability } from './constants.ts';
import { ProtocolError } from './errors.ts';
import { PayloadReader, PayloadWriter } from './lenenc.ts';

export interface Greeting {
  protocolVersion: number;
  /** As sent; MariaDB prefixes "5.5.5-" for old replication clients. */
  serverVersion: string;
  connectionId: number;
  /** The scramble (part 1 + part 2, without the trailing NUL): 20 bytes for the usual plugins. */
  authPluginData: Buffer;
  /** All 32 standard capability bits (lower | upper << 16). */
  capabilities: number;
  /** Default collation id. */
  charset: number;
  status: number;
  authPluginName: string | null;
  /** MariaDB's extended capabilities (upper 32 bits of its 64); 0 from MySQL (CLIENT_MYSQL set). */
  mariadbCapabilities: number;
  /** CLIENT_MYSQL (bit 0) unset: a MariaDB server with extended capabilities. */
  isMariaDB: boolean;
}

/** Byte offsets of the capability fields inside a greeting payload. */
interface GreetingLayout {
  capLow: number;
  /** -1 when the greeting stops after the lower flags (pre-4.1 servers). */
  capHigh: number;
  mariadbCaps: number;
}

function greetingLayout(payload: Buffer): { g: Greeting; at: GreetingLayout } {
  const r = new PayloadReader(payload, 0, 'server greeting');
  if (payload.length > 0 && payload[0] === 0xff) throw new ProtocolError('server greeting is an ERR packet (server refused the connection)');
  const protocolVersion = r.u8();
  if (protocolVersion !== 10) throw new ProtocolError(`unsupported handshake protocol version ${protocolVersion}`);
  const serverVersion = r.nulString();
  const connectionId = r.u32();
  const scramble1 = r.bytes(8);
  r.skip(1);
  const capLow = r.pos;
  let capabilities = r.u16();
  const g: Greeting = {
    protocolVersion,
    serverVersion,
    connectionId,
    authPluginData: Buffer.from(scramble1),
    capabilities,
    charset: 0,
    status: 0,
    authPluginName: null,
    mariadbCapabilities: 0,
    isMariaDB: false,
  };
  const at: GreetingLayout = { capLow, capHigh: -1, mariadbCaps: -1 };
  if (r.remaining === 0) return { g, at };
  g.charset = r.u8();
  g.status = r.u16();
  at.capHigh = r.pos;
  capabilities = (capabilities | (r.u16() << 16)) >>> 0;
  g.capabilities = capabilities;
  const authDataLen = r.u8();
  // 10 reserved bytes; MariaDB puts its extended capabilities in the last 4 of them.
  r.skip(6);
  at.mariadbCaps = r.pos;
  const ext = r.u32();
  g.isMariaDB = (capabilities & Capability.CLIENT_MYSQL) === 0;
  if (g.isMariaDB) g.mariadbCapabilities = ext;
  if (capabilities & Capability.SECURE_CONNECTION) {
    const len2 = Math.max(13, authDataLen - 8);
    const part2 = r.bytes(Math.min(len2, r.remaining));
    // The last byte of part 2 is a NUL terminator, not scramble.
    const end = part2.length > 0 && part2[part2.length - 1] === 0 ? part2.length - 1 : part2.length;
    g.authPluginData = Buffer.concat([scramble1, part2.subarray(0, end)]);
  }
  if (capabilities & Capability.PLUGIN_AUTH) g.authPluginName = r.nulString(true);
  return { g, at };
}

/** Parses a HandshakeV10 greeting. Throws ProtocolError for an ERR packet or another protocol. */
export function parseGreeting(payload: Buffer): Greeting {
  return greetingLayout(payload).g;
}

/**
 * A copy of a greeting payload with capability bits cleared, so the client never asks for what
 * the proxy cannot relay (TLS: CLIENT_SSL 0x800; compression: CLIENT_COMPRESS 0x20). Bits in
 * `mariadbFlags` are cleared from MariaDB's extended capabilities (ignored for MySQL greetings).
 */
export function withoutCapabilities(payload: Buffer, flags: number, mariadbFlags = 0): Buffer {
  const { g, at } = greetingLayout(payload);
  const out = Buffer.from(payload);
  out.writeUInt16LE(out.readUInt16LE(at.capLow) & ~flags & 0xffff, at.capLow);
  if (at.capHigh >= 0) out.writeUInt16LE(out.readUInt16LE(at.capHigh) & ~(flags >>> 16) & 0xffff, at.capHigh);
  if (mariadbFlags && g.isMariaDB && at.mariadbCaps >= 0) {
    out.writeUInt32LE((out.readUInt32LE(at.mariadbCaps) & ~mariadbFlags) >>> 0, at.mariadbCaps);
  }
  return out;
}

export interface HandshakeResponse {
  capabilities: number;
  maxPacketSize: number;
  /** Collation id the client asked for. */
  charset: number;
  /** MariaDB extended client capabilities (0 when the client set CLIENT_MYSQL). */
  mariadbCapabilities: number;
  username: string;
  authResponse: Buffer;
  database: string | null;
  authPluginName: string | null;
  connectAttributes: Map<string, string> | null;
}

/** An SSLRequest: the 32-byte prefix of a handshake response with CLIENT_SSL, sent before TLS. */
export function isSslRequest(payload: Buffer): boolean {
  return payload.length === 32 && (payload.readUInt32LE(0) & Capability.SSL) !== 0;
}

/** Parses a HandshakeResponse41 (CLIENT_PROTOCOL_41 clients; older ones are refused). */
export function parseHandshakeResponse(payload: Buffer): HandshakeResponse {
  if (isSslRequest(payload)) throw new ProtocolError('client sent an SSLRequest (TLS was not offered)');
  const r = new PayloadReader(payload, 0, 'handshake response');
  const capabilities = r.u32();
  if (!(capabilities & Capability.PROTOCOL_41)) throw new ProtocolError('client does not speak protocol 4.1');
  const maxPacketSize = r.u32();
  const charset = r.u8();
  r.skip(19);
  const ext = r.u32();
  const mariadbCapabilities = capabilities & Capability.CLIENT_MYSQL ? 0 : ext;
  const username = r.nulString();
  let authResponse: Buffer;
  if (capabilities & Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA) authResponse = r.lenencBytes();
  else if (capabilities & Capability.SECURE_CONNECTION) authResponse = r.bytes(r.u8());
  else authResponse = r.nulBytes();
  let database: string | null = null;
  if (capabilities & Capability.CONNECT_WITH_DB && r.remaining > 0) database = r.nulString(true);
  let authPluginName: string | null = null;
  if (capabilities & Capability.PLUGIN_AUTH && r.remaining > 0) authPluginName = r.nulString(true);
  let connectAttributes: Map<string, string> | null = null;
  if (capabilities & Capability.CONNECT_ATTRS && r.remaining > 0) {
    const attrs = new PayloadReader(r.lenencBytes(), 0, 'connect attributes');
    connectAttributes = new Map();
    while (attrs.remaining > 0) {
      const k = attrs.lenencString();
      connectAttributes.set(k, attrs.lenencString());
    }
  }
  return {
    capabilities,
    maxPacketSize,
    charset,
    mariadbCapabilities,
    username,
    authResponse: Buffer.from(authResponse),
    database,
    authPluginName,
    connectAttributes,
  };
}

/**
 * A copy of a HandshakeResponse41 payload with client capability bits cleared. The server acts
 * on what the client *says* it supports, not on what the greeting offered, so clearing a bit
 * from the greeting alone is not enough for features the client sets unconditionally: mysql2
 * always sets CLIENT_LOCAL_FILES, so a proxy that will not relay LOAD DATA LOCAL clears it here
 * too, and the server then refuses those statements itself (ERR 1148). The scramble-based auth
 * response does not cover the flags, so the login still succeeds.
 */
export function withoutClientCapabilities(payload: Buffer, flags: number, mariadbFlags = 0): Buffer {
  if (payload.length < 32) throw new ProtocolError('handshake response truncated');
  const out = Buffer.from(payload);
  const caps = out.readUInt32LE(0);
  out.writeUInt32LE((caps & ~flags) >>> 0, 0);
  if (mariadbFlags && !(caps & Capability.CLIENT_MYSQL)) out.writeUInt32LE((out.readUInt32LE(28) & ~mariadbFlags) >>> 0, 28);
  return out;
}

export interface HandshakeResponseInit {
  capabilities: number;
  maxPacketSize?: number;
  charset?: number;
  mariadbCapabilities?: number;
  username: string;
  authResponse?: Buffer;
  database?: string | null;
  authPluginName?: string | null;
  connectAttributes?: ReadonlyMap<string, string> | null;
}

/** Builds a HandshakeResponse41 (fields are written only when their capability bit says so). */
export function encodeHandshakeResponse(init: HandshakeResponseInit): Buffer {
  const caps = init.capabilities;
  const w = new PayloadWriter(128)
    .u32(caps)
    .u32(init.maxPacketSize ?? 0x1000000)
    .u8(init.charset ?? 45)
    .zeros(19)
    .u32(caps & Capability.CLIENT_MYSQL ? 0 : (init.mariadbCapabilities ?? 0))
    .nulString(init.username);
  const auth = init.authResponse ?? Buffer.alloc(0);
  if (caps & Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA) w.lenencBytes(auth);
  else if (caps & Capability.SECURE_CONNECTION) w.u8(auth.length).bytes(auth);
  else w.bytes(auth).u8(0);
  if (caps & Capability.CONNECT_WITH_DB) w.nulString(init.database ?? '');
  if (caps & Capability.PLUGIN_AUTH) w.nulString(init.authPluginName ?? '');
  if (caps & Capability.CONNECT_ATTRS) {
    const attrs = new PayloadWriter();
    for (const [k, v] of init.connectAttributes ?? []) attrs.lenencString(k).lenencString(v);
    w.lenencBytes(attrs.finish());
  }
  return Buffer.from(w.finish());
}

/** What both sides agreed on; the response parsers and the tracker depend on it. */
export interface NegotiatedCapabilities {
  capabilities: number;
  /** MariaDB extended capabilities both sides have (0 unless both left CLIENT_MYSQL unset). */
  mariadbCapabilities?: number;
}

/**
 * The capabilities in force after a (relayed) handshake: what both the server and client set.
 * Pass the greeting as the backend sent it, not the copy with bits cleared for the client.
 */
export function negotiate(greeting: Greeting, response: HandshakeResponse): NegotiatedCapabilities {
  return {
    capabilities: (greeting.capabilities & response.capabilities) >>> 0,
    mariadbCapabilities: greeting.isMariaDB ? (greeting.mariadbCapabilities & response.mariadbCapabilities) >>> 0 : 0,
  };
}
