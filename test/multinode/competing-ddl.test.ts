// The three-miner race of competing-miners.test.ts with schema changes among the writes
// (COMPETING_DDL): DROP TABLE, TRUNCATE and ALTERs racing forks once left a node with the origin's
// rows after it undid them. `npm run soak:ddl` runs it with 20 s of writes instead of 10.
process.env.COMPETING_DDL = '1';
await import('./competing-miners.test.ts');
