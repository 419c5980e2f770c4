/**
 * ResponseTracker: finds where the backend's response to one command ends, from the raw byte
 * stream, so the proxy can relay reads as bytes and still know when the connection is idle
 * again (to run its own queries, or to start tracking the next command).
 *
 * It reads packet headers and only the few first payload bytes it needs (the packet type, and
 * the status flags of the packet that ends a result). Row payloads are skipped, never copied or
 * decoded; nothing is allocated per packet. Chunks may split packets (and headers) anywhere.
 *
 * Usage: `start(commandByte)` when the client's command goes to the backend, then `feed(chunk)`
 * for every chunk from the backend until a result has `done`. `consumed` tells how many bytes of
 * the chunk belonged to this response (the rest belongs to whatever comes next).
 */
import { Capability, Command, MariaDbCapability, ServerStatus } from './constants.ts';
import { ProtocolError, UnsupportedCommandError } from './errors.ts';
import type { NegotiatedCapabilities } from './handshake.ts';
import { PROGRESS_ERRNO } from './packets.ts';

export interface FeedResult {
  /** Bytes of the chunk (from the given offset) that belong to the current response. */
  consumed: number;
  /** The response is complete: its last byte is the last consumed byte. */
  done: boolean;
  /**
   * COM_QUERY only: the server sent a LOCAL INFILE request (0xFB) and now waits for the file's
   * contents; `consumed` ends right after that packet. Whoever answers it (the client, if the
   * request was relayed, or the proxy with an empty packet, seq `lastSeq + 1`, meaning "no
   * data") must be the only one; keep feeding: the server's OK/ERR completes the response.
   * Simplest for a proxy: clear CLIENT_LOCAL_FILES in the forwarded handshake response
   * (withoutClientCapabilities) and the server never sends the request at all.
   */
  localInfile: boolean;
}

export interface PreparedInfo {
  statementId: number;
  columnCount: number;
  paramCount: number;
}

/** Where the tracker is in a response; exposed for diagnostics. */
export type TrackerState =
  | 'idle'
  | 'first'
  | 'column-defs'
  | 'metadata-eof'
  | 'rows'
  | 'prepare-first'
  | 'prepare-defs'
  | 'field-list'
  | 'single'
  | 'auth';

const enum S {
  Idle,
  First,
  ColumnDefs,
  MetadataEof,
  Rows,
  PrepareFirst,
  PrepareDefs,
  FieldList,
  Single,
  Auth,
}

const STATE_NAMES: readonly TrackerState[] = [
  'idle', 'first', 'column-defs', 'metadata-eof', 'rows', 'prepare-first', 'prepare-defs', 'field-list', 'single', 'auth',
];

const FULL_PACKET = 0xffffff;
/** Enough for an OK packet's header, two 9-byte length-encoded ints and the status flags. */
const SCRATCH = 32;

/** Commands answered by exactly one packet (OK, ERR, EOF, or COM_STATISTICS' string). */
const SINGLE_PACKET: ReadonlySet<number> = new Set([
  Command.SLEEP, Command.INIT_DB, Command.CREATE_DB, Command.DROP_DB, Command.REFRESH, Command.SHUTDOWN,
  Command.STATISTICS, Command.CONNECT, Command.PROCESS_KILL, Command.DEBUG, Command.PING, Command.TIME,
  Command.DELAYED_INSERT, Command.STMT_RESET, Command.SET_OPTION, Command.RESET_CONNECTION,
]);

/** Commands the server does not answer. */
const NO_RESPONSE: ReadonlySet<number> = new Set([Command.QUIT, Command.STMT_CLOSE, Command.STMT_SEND_LONG_DATA]);

export class ResponseTracker {
  private readonly caps: number;
  private readonly mariadbCaps: number;
  private readonly deprecateEof: boolean;

  private s: S = S.Idle;
  private command = -1;

  // current physical packet
  private hdrGot = 0;
  private hdrLen = 0;
  private remaining = 0;
  /** Length of the first physical packet of the current logical packet. */
  private firstLen = 0;
  /** The current physical packet continues a logical packet (previous one was 0xFFFFFF). */
  private continuation = false;
  private readonly scratch = Buffer.alloc(SCRATCH);
  private got = 0;
  private need = 0;

  // per-response counters and findings
  private pending = 0;
  private _lastSeq = 0;
  private _status = 0;
  private _error = false;
  private _rows = 0;
  private _resultSets = 0;
  private _prepared: PreparedInfo | null = null;
  private metadataFlag = false;

  constructor(caps: NegotiatedCapabilities) {
    this.caps = caps.capabilities;
    this.mariadbCaps = caps.mariadbCapabilities ?? 0;
    this.deprecateEof = (this.caps & Capability.DEPRECATE_EOF) !== 0;
  }

  /**
   * A command was sent. Returns false when the server does not answer it (COM_QUIT,
   * COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA): the tracker stays idle. Throws
   * UnsupportedCommandError for commands whose responses it cannot follow (replication, COM_MULTI).
   */
  start(command: number): boolean {
    if (this.s !== S.Idle) throw new ProtocolError(`command 0x${command.toString(16)} sent while the previous response is incomplete`);
    this.hdrGot = 0;
    this.continuation = false;
    this.got = 0;
    this.pending = 0;
    this._status = 0;
    this._error = false;
    this._rows = 0;
    this._resultSets = 0;
    this._prepared = null;
    this.command = command;
    // MySQL's optional metadata applies to all result sets; MariaDB's cache only to binary ones.
    this.metadataFlag =
      (this.caps & Capability.OPTIONAL_RESULTSET_METADATA) !== 0 ||
      ((this.mariadbCaps & MariaDbCapability.CACHE_METADATA) !== 0 &&
        (command === Command.STMT_EXECUTE || command === Command.STMT_BULK_EXECUTE));
    if (NO_RESPONSE.has(command)) return false;
    switch (command) {
      case Command.QUERY:
      case Command.STMT_EXECUTE:
      case Command.STMT_BULK_EXECUTE:
      case Command.PROCESS_INFO:
        this.s = S.First;
        break;
      case Command.STMT_FETCH:
        this.s = S.Rows;
        break;
      case Command.STMT_PREPARE:
        this.s = S.PrepareFirst;
        break;
      case Command.FIELD_LIST:
        this.s = S.FieldList;
        break;
      case Command.CHANGE_USER:
        this.s = S.Auth;
        break;
      default:
        if (!SINGLE_PACKET.has(command)) throw new UnsupportedCommandError(command);
        this.s = S.Single;
    }
    return true;
  }

  /** Consumes backend bytes of the current response; see FeedResult. */
  feed(chunk: Buffer, offset = 0): FeedResult {
    const end = chunk.length;
    let i = offset;
    let localInfile = false;
    while (i < end && this.s !== S.Idle) {
      if (this.hdrGot < 4) {
        if (this.hdrGot === 0 && i + 4 <= end) {
          this.hdrLen = chunk[i] | (chunk[i + 1] << 8) | (chunk[i + 2] << 16);
          this._lastSeq = chunk[i + 3];
          this.hdrGot = 4;
          i += 4;
        } else {
          const b = chunk[i++];
          if (this.hdrGot === 0) this.hdrLen = b;
          else if (this.hdrGot < 3) this.hdrLen |= b << (8 * this.hdrGot);
          else this._lastSeq = b;
          this.hdrGot++;
          if (this.hdrGot < 4) continue;
        }
        this.beginPacket();
        if (this.remaining > 0) continue;
      } else if (this.got < this.need) {
        const n = Math.min(this.need - this.got, this.remaining, end - i);
        // at most a few bytes: a loop beats Buffer#copy, which makes a view per call
        for (let k = 0; k < n; k++) this.scratch[this.got + k] = chunk[i + k];
        const firstByteNow = this.got === 0;
        this.got += n;
        this.remaining -= n;
        i += n;
        if (firstByteNow) this.need = Math.min(this.needAfterFirstByte(this.scratch[0]), this.firstLen);
        if (this.remaining > 0) continue;
      } else {
        const n = Math.min(this.remaining, end - i);
        this.remaining -= n;
        i += n;
        if (this.remaining > 0) continue;
      }
      // A physical packet ended.
      this.hdrGot = 0;
      if (this.hdrLen === FULL_PACKET) {
        this.continuation = true;
        continue;
      }
      this.continuation = false;
      if (this.endPacket()) {
        localInfile = true;
        break;
      }
    }
    return { consumed: i - offset, done: this.s === S.Idle, localInfile };
  }

  private beginPacket(): void {
    this.remaining = this.hdrLen;
    if (this.continuation) {
      // Continuations carry the rest of a payload whose first bytes we already have.
      this.need = this.got;
      return;
    }
    this.firstLen = this.hdrLen;
    this.got = 0;
    // Column definitions only need counting; everything else needs at least the type byte.
    this.need = this.s === S.ColumnDefs || this.s === S.PrepareDefs ? 0 : Math.min(1, this.hdrLen);
  }

  /** How many leading payload bytes the current packet needs, now that its type byte is known. */
  private needAfterFirstByte(b: number): number {
    switch (this.s) {
      case S.First:
        if (b === 0x00) return 21;
        if (b === 0xff) return 3;
        if (b === 0xfb) return 1;
        return 10; // column count (+ metadata-follows byte)
      case S.MetadataEof:
      case S.Rows:
        return b === 0xfe && this.isTerminatorLength() ? 21 : 1;
      case S.PrepareFirst:
        return b === 0x00 ? 13 : 1;
      case S.Single:
        return b === 0x00 || b === 0xfe ? 21 : 1;
      default:
        return 1;
    }
  }

  /** 0xFE ends rows only in a packet too short to be a row (see packets.isEndOfRows). */
  private isTerminatorLength(): boolean {
    return this.deprecateEof ? this.firstLen < FULL_PACKET : this.firstLen < 9;
  }

  /** Status flags of the OK/EOF packet in scratch (either layout). */
  private statusFromScratch(): number {
    const sc = this.scratch;
    if (sc[0] === 0xfe && !this.deprecateEof) return this.got >= 5 ? sc.readUInt16LE(3) : 0;
    let p = 1;
    for (let k = 0; k < 2; k++) p += lenencSize(sc[p]);
    return p + 2 <= this.got ? sc.readUInt16LE(p) : 0;
  }

  /** A logical packet ended: advance the state machine. Returns true for a LOCAL INFILE request. */
  private endPacket(): boolean {
    const b = this.got > 0 ? this.scratch[0] : -1;
    switch (this.s) {
      case S.First:
        if (b === 0x00) return this.endResult(this.statusFromScratch());
        if (b === 0xff) {
          if (this.mariadbCaps & MariaDbCapability.PROGRESS && this.got >= 3 && this.scratch.readUInt16LE(1) === PROGRESS_ERRNO) return false;
          return this.fail();
        }
        if (b === 0xfb) {
          if (this.command !== Command.QUERY) throw new ProtocolError('LOCAL INFILE request in answer to a command other than COM_QUERY');
          return true; // stay in First: the server's OK/ERR follows the file data
        }
        if (b < 0) throw new ProtocolError('empty packet where a result was expected');
        this.beginColumns();
        return false;
      case S.ColumnDefs:
        if (--this.pending === 0) this.s = this.deprecateEof ? S.Rows : S.MetadataEof;
        return false;
      case S.MetadataEof:
        if (b === 0xff) return this.fail();
        if (b !== 0xfe) throw new ProtocolError(`expected EOF after column definitions, got 0x${b.toString(16)}`);
        {
          const status = this.statusFromScratch();
          // A COM_STMT_EXECUTE that opened a cursor ends here; rows come with COM_STMT_FETCH.
          if (status & ServerStatus.CURSOR_EXISTS) this.endResult(status);
          else this.s = S.Rows;
        }
        return false;
      case S.Rows:
        if (b === 0xfe && this.isTerminatorLength()) return this.endResult(this.statusFromScratch());
        if (b === 0xff) return this.fail();
        this._rows++;
        return false;
      case S.PrepareFirst: {
        if (b === 0xff) return this.fail();
        if (b !== 0x00 || this.got < 9) throw new ProtocolError('malformed COM_STMT_PREPARE response');
        const sc = this.scratch;
        const info = { statementId: sc.readUInt32LE(1), columnCount: sc.readUInt16LE(5), paramCount: sc.readUInt16LE(7) };
        this._prepared = info;
        // MySQL's optional metadata: a 13th byte 0 means no definitions follow.
        const defsFollow = !(this.caps & Capability.OPTIONAL_RESULTSET_METADATA) || this.got < 13 || sc[12] !== 0;
        const eof = this.deprecateEof ? 0 : 1;
        this.pending = defsFollow ? (info.paramCount ? info.paramCount + eof : 0) + (info.columnCount ? info.columnCount + eof : 0) : 0;
        this.s = this.pending ? S.PrepareDefs : S.Idle;
        return false;
      }
      case S.PrepareDefs:
        if (--this.pending === 0) this.s = S.Idle;
        return false;
      case S.FieldList:
        if (b === 0xff) return this.fail();
        if (b === 0xfe && this.isTerminatorLength()) this.s = S.Idle;
        return false;
      case S.Single:
        if (b === 0xff) this._error = true;
        else if (b === 0x00 || b === 0xfe) this._status = this.got >= 5 ? this.statusFromScratch() : 0;
        this.s = S.Idle;
        return false;
      case S.Auth:
        if (b === 0xff) return this.fail();
        if (b === 0x00) this.s = S.Idle;
        return false; // auth switch / more data: the client answers, the server goes on
      default:
        return false;
    }
  }

  private beginColumns(): void {
    const sc = this.scratch;
    const size = lenencSize(sc[0]);
    if (size === 0 || size > this.got) throw new ProtocolError('malformed column count');
    const count = size === 1 ? sc[0] : sc.readUIntLE(1, Math.min(size - 1, 6));
    if (count === 0) throw new ProtocolError('result set with zero columns');
    const metadataFollows = !this.metadataFlag || (this.got > size && sc[size] !== 0);
    this._resultSets++;
    if (metadataFollows) {
      this.pending = count;
      this.s = S.ColumnDefs;
    } else {
      this.s = this.deprecateEof ? S.Rows : S.MetadataEof;
    }
  }

  /** A result (OK or end of rows) ended: another may follow. */
  private endResult(status: number): false {
    this._status = status;
    this.s = status & ServerStatus.MORE_RESULTS_EXISTS ? S.First : S.Idle;
    return false;
  }

  /** An ERR packet ends the whole response, even in the middle of rows or of a multi-statement. */
  private fail(): false {
    this._error = true;
    this.s = S.Idle;
    return false;
  }

  /** Forgets the response in progress (e.g. the backend connection is being dropped). */
  reset(): void {
    this.s = S.Idle;
    this.hdrGot = 0;
    this.continuation = false;
    this.got = 0;
  }

  /** No response in progress (before start, after done, or for a command without response). */
  get idle(): boolean {
    return this.s === S.Idle;
  }
  get state(): TrackerState {
    return STATE_NAMES[this.s];
  }
  /** The response ended with an ERR packet. */
  get error(): boolean {
    return this._error;
  }
  /** Status flags of the last OK/EOF seen (in-transaction, autocommit, ...); 0 if none. */
  get status(): number {
    return this._status;
  }
  /** Sequence id of the last packet header read. */
  get lastSeq(): number {
    return this._lastSeq;
  }
  /** Rows seen in the response (all result sets). */
  get rows(): number {
    return this._rows;
  }
  /** Result sets (with columns) seen in the response. */
  get resultSets(): number {
    return this._resultSets;
  }
  /** After a successful COM_STMT_PREPARE: the statement's id and counts. */
  get prepared(): PreparedInfo | null {
    return this._prepared;
  }
}

/** Total size of a length-encoded int from its first byte; 0 if the byte cannot start one. */
function lenencSize(first: number): number {
  if (first < 0xfb) return 1;
  if (first === 0xfc) return 3;
  if (first === 0xfd) return 4;
  if (first === 0xfe) return 9;
  return 0;
}
