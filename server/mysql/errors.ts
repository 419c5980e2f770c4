/** No MySQL server to use (none answers, none can be started): a module of its own, so the CLI maps it without loading the driver. */
export class MysqlBackendError extends Error {
  override name = 'MysqlBackendError';
}
