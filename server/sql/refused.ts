/** A statement the proxy will not run (multi-statement mixing writes, unsupported syntax…); no parser needed to catch it. */
export class SqlRefused extends Error {
  override name = 'SqlRefused';
}
