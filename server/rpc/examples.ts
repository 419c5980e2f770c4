/**
 * Values for the examples in docs/rpc.md, from fixed seeds, so every address has a valid checksum,
 * every signature verifies and the docs are the same each time they are generated. The keys,
 * addresses and signature are written out: deriving them here took ~50 ms of every node's start
 * (noble's first key derivation builds its tables); rpc-docs.test.ts derives them again.
 */
import { prepareTx, sha256Hex, type TransferBody } from '../../consensus/index.ts';

/** The example private keys: `exampleKey('alice')`, `exampleKey('bob')`. */
export const exampleKey = (seed: string): string => sha256Hex(`oursql example key ${seed}`);

export const EX = {
  alice: '18PDCQNGt1PhA2UYb8oUo7mj45ymS5rdpN',
  alicePubkey: '0262a6651825a9b8bbeb63db710fc6251dd2fb6b2710ad9e9a9331c649e97560ce',
  bob: '1N3n242VjC5BonzU3aZx8dXtmiESzfpGQK',
  bobPubkey: '035918b459348267c16550fec9f9562502cd77227daf6df7de8b35100d54947370',
  genesis: sha256Hex('oursql example genesis'),
  consensus: sha256Hex('oursql example consensus'),
  block1: sha256Hex('oursql example block 1'),
  block2: sha256Hex('oursql example block 2'),
  merkle: sha256Hex('oursql example merkle'),
  coinbaseTx: sha256Hex('oursql example coinbase'),
  time: 1795599460000,
};

/** A transfer of 1.5 coins from alice to bob with 8.5 change, as preparesend makes it. */
export const exampleTransfer: TransferBody = {
  v: 1,
  chain: EX.genesis,
  time: EX.time,
  from: EX.alicePubkey,
  in: [{ tx: EX.coinbaseTx, n: 0 }],
  out: [{ to: EX.bob, amount: '150000000' }, { to: EX.alice, amount: '850000000' }],
};
export const exampleTransferPrepared = prepareTx(exampleTransfer);
/** alice's signature of exampleTransfer (RFC 6979, as signTx makes it). */
export const exampleTransferSig =
  '3045022100c16b8e12ff85e33b888c7f98bc6906b164def45cff2c30ebb37976beb4407fdb02207f93a2e5fc22214442c81bea9d97fac678c1862c08d7fad30dbe0c2142af16b4';

/** An INSERT as preparesql makes it (the AUTO_INCREMENT id made a literal, its undo, its ref). */
export const exampleSql: TransferBody = {
  v: 1,
  chain: EX.genesis,
  time: EX.time,
  from: EX.alicePubkey,
  in: [],
  out: [],
  sql: {
    stmts: ["INSERT INTO `notes` (`body`, `id`) VALUES ('hello', 1)"],
    undo: ['DELETE FROM `notes` WHERE `id` = 1'],
    refs: ['notes:1'],
    base: { 'notes:1': null },
  },
};
export const exampleSqlPrepared = prepareTx(exampleSql);
export const exampleTxid = exampleTransferPrepared.txid;
