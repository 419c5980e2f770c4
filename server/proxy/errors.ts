// The proxy's errors are the SQL layer's: one mapping to (errno, SQLSTATE, message), in server/sql/errors.ts.
export { ER, ReplicationError, toMysqlError } from '../sql/errors.ts';
