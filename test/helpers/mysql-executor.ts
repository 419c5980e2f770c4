/** A SqlExecutor on its own connection to the test server (the node's adapter: server/sql/mysql-executor.ts). */
import mysql from 'mysql2/promise';
import type { SqlExecutor } from '../../server/sql/executor.ts';
import { mysql2Executor } from '../../server/sql/mysql-executor.ts';
import { TEST_MYSQL_HOST, TEST_MYSQL_PORT } from './mysql.ts';

export type Mysql2Executor = SqlExecutor;

/** A connection to the test server (utf8mb4, no multiple statements), optionally in a database. */
export async function connectExecutor(database?: string): Promise<{ exec: SqlExecutor; conn: mysql.Connection; close: () => Promise<void> }> {
  const conn = await mysql.createConnection({
    host: TEST_MYSQL_HOST,
    port: TEST_MYSQL_PORT,
    user: 'root',
    database,
    charset: 'utf8mb4_general_ci',
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  return { exec: mysql2Executor(conn), conn, close: () => conn.end() };
}
