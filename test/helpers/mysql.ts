import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';

export const TEST_MYSQL_HOST = process.env.OURSQL_TEST_MYSQL_HOST ?? '127.0.0.1';
export const TEST_MYSQL_PORT = Number(process.env.OURSQL_TEST_MYSQL_PORT ?? 3306);

/** A database name of our own (`oursql_test_…`) and its URL; drop() removes it and its `_chain` twin. */
export function testDatabase(tag = 't') {
  const name = `oursql_test_${tag}_${randomBytes(4).toString('hex')}`;
  const url = `mysql://root@${TEST_MYSQL_HOST}:${TEST_MYSQL_PORT}/${name}`;
  return {
    name,
    url,
    async drop(): Promise<void> {
      const c = await mysql.createConnection({ host: TEST_MYSQL_HOST, port: TEST_MYSQL_PORT, user: 'root' });
      try {
        await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
        await c.query(`DROP DATABASE IF EXISTS \`${name}_chain\``);
      } finally {
        await c.end();
      }
    },
  };
}

export function rootConnection() {
  return mysql.createConnection({ host: TEST_MYSQL_HOST, port: TEST_MYSQL_PORT, user: 'root', supportBigNumbers: true, bigNumberStrings: true });
}
