/**
 * Errors raised by the wire toolkit. All extend WireError so the proxy can tell "this connection
 * speaks garbage / died" (drop it) from SQL errors the backend reported (BackendSqlError: pass on).
 */

export class WireError extends Error {
  override name = 'WireError';
}

/** A packet that does not parse as what it should be (truncated, bad marker, unknown type). */
export class ProtocolError extends WireError {
  override name = 'ProtocolError';
}

/** Packet framing broke: a sequence id out of order. The stream cannot be trusted afterwards. */
export class FramingError extends WireError {
  override name = 'FramingError';
}

/** A command the toolkit cannot track the response of (replication commands, COM_MULTI, ...). */
export class UnsupportedCommandError extends WireError {
  override name = 'UnsupportedCommandError';
  constructor(readonly command: number) {
    super(`unsupported command 0x${command.toString(16).padStart(2, '0')}`);
  }
}

/** The backend socket closed (or errored) while the session was using it or before a query. */
export class BackendClosedError extends WireError {
  override name = 'BackendClosedError';
}

/** The session was asked to do something its attach/detach state does not allow. */
export class SessionStateError extends WireError {
  override name = 'SessionStateError';
}

/** The backend answered a query with an ERR packet. */
export class BackendSqlError extends Error {
  override name = 'BackendSqlError';
  constructor(
    readonly errno: number,
    readonly sqlState: string,
    message: string,
  ) {
    super(message);
  }
}
