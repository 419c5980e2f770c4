import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bodyMatchesSql } from '../../server/sql/match.ts';

const yes = (body: string, client: string) => assert.equal(bodyMatchesSql(body, client), true, `should match:\n  body:   ${body}\n  client: ${client}`);
const no = (body: string, client: string) => assert.equal(bodyMatchesSql(body, client), false, `should NOT match:\n  body:   ${body}\n  client: ${client}`);

test('same statement, other spacing, keyword case and comments → match', () => {
  yes("UPDATE `t` SET `a` = 'x' WHERE `id` = 1", "update t set a='x' where id=1");
  yes("UPDATE `t` SET `a` = 'x' WHERE `id` = 1", "UPDATE t /* why */ SET a = 'x'   -- trailing\n WHERE id = 1");
  yes("INSERT INTO `t` (`a`, `b`) VALUES (1,'y')", 'insert into t (a,b) values (1, \'y\')');
  yes("DELETE FROM `t` WHERE `a` > 5 AND `b` IS NULL", 'delete   from t where a>5 and b is null');
  yes('UPDATE `t` SET `a` = CONCAT(`a`, \'x\') WHERE `id` = 1', "UPDATE t SET a = concat(a, 'x') WHERE id = 1");
  yes('CREATE TABLE `t` (`id` INT PRIMARY KEY)', 'create table t (id int primary key)');
  yes('DROP TABLE `t`', 'DROP TABLE t');
  yes('UPDATE `t` SET `A` = 1 WHERE `ID` = 1', 'UPDATE t SET a = 1 WHERE id = 1'); // column names: case-insensitive in MySQL
});

test('changed value, table, column, where or kind → no match', () => {
  no("UPDATE `t` SET `a` = 'x' WHERE `id` = 1", "UPDATE t SET a = 'y' WHERE id = 1");
  no("UPDATE `t` SET `a` = 'x' WHERE `id` = 1", "UPDATE u SET a = 'x' WHERE id = 1");
  no("UPDATE `t` SET `a` = 'x' WHERE `id` = 1", "UPDATE t SET b = 'x' WHERE id = 1");
  no("UPDATE `t` SET `a` = 'x' WHERE `id` = 1", "UPDATE t SET a = 'x' WHERE id = 2");
  no("UPDATE `t` SET `a` = 'x' WHERE `id` = 1", "UPDATE t SET a = 'x' WHERE id >= 1");
  no("UPDATE `t` SET `a` = 'x' WHERE `id` = 1", "UPDATE t SET a = 'x'");
  no("UPDATE `t` SET `a` = 'x' WHERE `id` = 1", "DELETE FROM t WHERE id = 1");
  no("UPDATE `t` SET `a` = 'X' WHERE `id` = 1", "UPDATE t SET a = 'x' WHERE id = 1"); // string data keeps its case
  no("INSERT INTO `t` (`a`) VALUES (1)", 'INSERT INTO t (a) VALUES (1), (2)');
  no("INSERT INTO `t` (`a`) VALUES (1)", 'INSERT INTO t (b) VALUES (1)');
  no("INSERT INTO `t` (`a`, `b`) VALUES (1,2)", 'INSERT INTO t (b, a) VALUES (1, 2)');
  no("INSERT INTO `t` (`a`) VALUES (1)", 'REPLACE INTO t (a) VALUES (1)');
  no('DELETE FROM `t` WHERE `id` = 1', 'DELETE FROM t WHERE id = 1 OR 1 = 1');
  no('DROP TABLE `t`', 'DROP TABLE u');
  no('UPDATE `t` SET `a` = 1', 'not sql at all');
  no('garbage', 'UPDATE t SET a = 1');
});

test('(a) non-deterministic calls in the client SQL may be literals in the body', () => {
  yes("UPDATE `t` SET `seen` = TIMESTAMP '2024-05-01 10:00:00' WHERE `id` = 1", 'UPDATE t SET seen = NOW() WHERE id = 1');
  yes("UPDATE `t` SET `seen` = TIMESTAMP '2024-05-01 10:00:00.123' WHERE `id` = 1", 'UPDATE t SET seen = CURRENT_TIMESTAMP(3) WHERE id = 1');
  yes("UPDATE `t` SET `seen` = TIMESTAMP '2024-05-01 10:00:00' WHERE `id` = 1", 'UPDATE t SET seen = CURRENT_TIMESTAMP WHERE id = 1');
  yes("UPDATE `t` SET `d` = DATE '2024-05-01' WHERE `id` = 1", 'UPDATE t SET d = CURDATE() WHERE id = 1');
  yes("UPDATE `t` SET `x` = 0.5377e0 WHERE `id` = 1", 'UPDATE t SET x = RAND() WHERE id = 1');
  yes("INSERT INTO `t` (`u`) VALUES ('1b4e28ba-2fa1-11d2-883f-0016d3cca427')", 'INSERT INTO t (u) VALUES (UUID())');
  yes('DELETE FROM `t` WHERE `at` < TIMESTAMP \'2024-05-01 10:00:00\' - INTERVAL 1 DAY', 'DELETE FROM t WHERE at < NOW() - INTERVAL 1 DAY');
  yes("UPDATE `t` SET `a` = TIMESTAMP '2024-05-01 10:00:00' WHERE `id` = 1", 'UPDATE t SET a = DEFAULT WHERE id = 1');
  // only those calls, and only where the client had them
  no("UPDATE `t` SET `x` = 'root@localhost' WHERE `id` = 1", 'UPDATE t SET x = USER() WHERE id = 1');
  no("UPDATE `t` SET `x` = 5 WHERE `id` = 1", 'UPDATE t SET x = LENGTH(y) WHERE id = 1');
  no("UPDATE `t` SET `seen` = TIMESTAMP '2024-05-01 10:00:00' WHERE `id` = 1", "UPDATE t SET seen = '2024-05-02' WHERE id = 1");
  no("UPDATE `t` SET `seen` = NOW() WHERE `id` = 1", "UPDATE t SET seen = TIMESTAMP '2024-05-01 10:00:00' WHERE id = 1");
});

test('(b) INSERT: ids and CURRENT_TIMESTAMP defaults the determinizer added', () => {
  yes("INSERT INTO `t` (`name`, `created`, `id`) VALUES ('a',TIMESTAMP '2024-05-01 10:00:00',7)", "INSERT INTO t (name) VALUES ('a')");
  yes("INSERT INTO `t` (`name`, `id`) VALUES ('a',7), ('b',8)", "INSERT INTO t (name) VALUES ('a'), ('b')");
  yes("INSERT INTO `t` (`id`, `name`) VALUES (7,'a')", "INSERT INTO t (id, name) VALUES (NULL, 'a')");
  yes("INSERT INTO `t` (`id`, `name`) VALUES (7,'a')", "INSERT INTO t (id, name) VALUES (0, 'a')");
  yes("INSERT INTO `t` VALUES (7,'a')", "INSERT INTO t VALUES (NULL, 'a')");
  yes("INSERT INTO `t` SET `name` = 'a', `id` = 7", "INSERT INTO t SET name = 'a'");
  yes("INSERT INTO `t` (`name`, `c`) VALUES (CONCAT('x', TIMESTAMP '2024-05-01 10:00:00'),TIMESTAMP '2024-05-01 10:00:00')", "INSERT INTO t (name) VALUES (CONCAT('x', NOW()))");
  // extra columns must be literals, in every row, and must not repeat a column
  no("INSERT INTO `t` (`name`, `id`) VALUES ('a',`other`)", "INSERT INTO t (name) VALUES ('a')");
  no("INSERT INTO `t` (`name`, `id`) VALUES ('a',7), ('b',(SELECT 8))", "INSERT INTO t (name) VALUES ('a'), ('b')");
  no("INSERT INTO `t` (`name`, `name`) VALUES ('a','b')", "INSERT INTO t (name) VALUES ('a')");
  no("INSERT INTO `t` (`name`, `id`) VALUES ('b',7)", "INSERT INTO t (name) VALUES ('a')");
  no("INSERT INTO `t` (`id`, `name`) VALUES (7,'a')", "INSERT INTO t (id, name) VALUES (8, 'a')");
  no("INSERT INTO `t` SET `name` = 'a', `id` = `x`", "INSERT INTO t SET name = 'a'");
  no("INSERT INTO `t` (`id`, `name`) VALUES (7,'a')", "INSERT INTO t SET id = NULL, name = 'a'");
  no("INSERT INTO `t` (`name`, `id`) VALUES ('a',7)", "INSERT INTO t VALUES ('a')");
});

test('(c) UPDATE: an ON UPDATE CURRENT_TIMESTAMP column set by the determinizer', () => {
  yes("UPDATE `t` SET `n` = `n` + 1, `updated` = TIMESTAMP '2024-05-01 10:00:00.123' WHERE `id` > 3", 'UPDATE t SET n = n + 1 WHERE id > 3');
  no("UPDATE `t` SET `n` = `n` + 1, `updated` = `n` WHERE `id` > 3", 'UPDATE t SET n = n + 1 WHERE id > 3');
  no("UPDATE `t` SET `n` = `n` + 1, `n` = 5 WHERE `id` > 3", 'UPDATE t SET n = n + 1 WHERE id > 3');
  no("UPDATE `t` SET `updated` = TIMESTAMP '2024-05-01 10:00:00', `n` = `n` + 1 WHERE `id` > 3", 'UPDATE t SET n = n + 1 WHERE id > 3');
});

test('(d) UPDATE/DELETE … ORDER BY … LIMIT: the body may add the primary key to the order, nothing else', () => {
  yes('UPDATE `q` SET `p` = 0 ORDER BY `p` DESC, `id` ASC LIMIT 1', 'update q set p = 0 order by p desc limit 1');
  yes('DELETE FROM `q` WHERE `p` = 5 ORDER BY `r` ASC, `id` ASC LIMIT 2', 'DELETE FROM q WHERE p = 5 ORDER BY r LIMIT 2');
  yes('UPDATE `q` SET `r` = `r` + 1 ORDER BY `r` DESC', 'UPDATE q SET r = r + 1 ORDER BY r DESC');
  no('UPDATE `q` SET `p` = 0 ORDER BY `p` DESC, `id` ASC LIMIT 2', 'UPDATE q SET p = 0 ORDER BY p DESC LIMIT 1');
  no('UPDATE `q` SET `p` = 0 ORDER BY `p` ASC, `id` ASC LIMIT 1', 'UPDATE q SET p = 0 ORDER BY p DESC LIMIT 1');
  no('UPDATE `q` SET `p` = 0 ORDER BY `p` DESC, `id` DESC LIMIT 1', 'UPDATE q SET p = 0 ORDER BY p DESC LIMIT 1');
  no('DELETE FROM `q` ORDER BY `id` ASC LIMIT 1', 'DELETE FROM q LIMIT 1');
  no('DELETE FROM `q` ORDER BY `r` ASC LIMIT 1', 'DELETE FROM q ORDER BY r');
});

test('(e) UPDATE/DELETE: the body may limit the client\'s WHERE to a list of keys, never widen it', () => {
  yes('UPDATE `s` SET `v` = `v` + 1 WHERE (`v` < 50) AND `id` IN (2, 3) ORDER BY `id` ASC LIMIT 2', 'UPDATE s SET v = v + 1 WHERE v < 50 ORDER BY id LIMIT 2');
  yes('DELETE FROM `s` WHERE (`v` BETWEEN 40 AND 49) AND `id` IN (4)', 'DELETE FROM s WHERE v BETWEEN 40 AND 49');
  yes("UPDATE `c` SET `v` = 0 WHERE (`a`, `b`) IN ((1, 'x'), (3, 'y'))", 'UPDATE c SET v = 0');
  yes("UPDATE `t` SET `at` = '2026-12-07 21:00:00' WHERE (`at` < '2026-12-07 21:00:00') AND `id` IN ('k')", 'UPDATE t SET at = NOW() WHERE at < NOW()');
  yes('UPDATE `s` SET `v` = 1 WHERE (`a` = 1 OR `b` = 2) AND `id` IN (7)', 'UPDATE s SET v = 1 WHERE a = 1 OR b = 2');
  // a key list of the client's own may lose keys (rows that did not match), gain none
  yes('UPDATE `s` SET `v` = 1 WHERE `id` IN (2, 3)', 'UPDATE s SET v = 1 WHERE id IN (1, 2, 3)');
  yes('UPDATE `s` SET `v` = 1 WHERE (`v` < 50) AND `id` IN (3)', 'UPDATE s SET v = 1 WHERE v < 50 AND id IN (2, 3)');
  no('UPDATE `s` SET `v` = 1 WHERE `id` IN (2, 9)', 'UPDATE s SET v = 1 WHERE id IN (1, 2, 3)');
  no('UPDATE `s` SET `v` = 1 WHERE (`v` < 50) AND `id` IN (9)', 'UPDATE s SET v = 1 WHERE v < 50 AND id IN (2, 3)');
  no('UPDATE `s` SET `v` = 1 WHERE (`v` < 60) AND `id` IN (3)', 'UPDATE s SET v = 1 WHERE v < 50 AND id IN (2, 3)');
  // the client's WHERE must stay: a body of keys alone would touch rows the client did not ask for
  no('UPDATE `s` SET `v` = `v` + 1 WHERE `id` IN (2, 3)', 'UPDATE s SET v = v + 1 WHERE v < 50');
  no('UPDATE `s` SET `v` = 1 WHERE (`v` < 60) AND `id` IN (2)', 'UPDATE s SET v = 1 WHERE v < 50');
  no('UPDATE `s` SET `v` = 1 WHERE (`v` < 50) OR `id` IN (2)', 'UPDATE s SET v = 1 WHERE v < 50');
  // the rest of the statement must still be the client's
  no('UPDATE `s` SET `v` = `v` + 2 WHERE (`v` < 50) AND `id` IN (2, 3)', 'UPDATE s SET v = v + 1 WHERE v < 50');
  no('UPDATE `s` SET `v` = `v` + 1 WHERE (`v` < 50) AND `id` IN (2, 3) LIMIT 2', 'UPDATE s SET v = v + 1 WHERE v < 50 ORDER BY id LIMIT 2');
  no('DELETE FROM `u` WHERE (`v` < 50) AND `id` IN (4)', 'DELETE FROM s WHERE v < 50');
  // not a list of keys
  no('UPDATE `s` SET `v` = 1 WHERE (`v` < 50) AND `id` IN (SELECT `id` FROM `s`)', 'UPDATE s SET v = 1 WHERE v < 50');
  no('UPDATE `s` SET `v` = 1 WHERE (`v` < 50) AND `id` IN (`v`)', 'UPDATE s SET v = 1 WHERE v < 50');
  no("UPDATE `c` SET `v` = 0 WHERE (`a`, `b`) IN ((1, 'x'), (3))", 'UPDATE c SET v = 0');
  no('UPDATE `s` SET `v` = 1 WHERE (`v` < 50) AND `id` NOT IN (2)', 'UPDATE s SET v = 1 WHERE v < 50');
});
