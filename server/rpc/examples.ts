/**
 * Values for the examples in docs/rpc.md: made with the consensus library from fixed seeds, so
 * every address has a valid checksum, every signature verifies and the docs are the same each time
 * they are generated.
 */
import {
  addressOf, prepareTx, publicKeyOf, sha256Hex, signTx, type TransferBody,
} from '../../consensus/index.ts';

const privateKeyOf = (seed: string): string => sha256Hex(`oursql example key ${seed}`);

const alicePriv = privateKeyOf('alice');
const bobPriv = privateKeyOf('bob');

export const EX = {
  alice: addressOf(publicKeyOf(alicePriv)),
  alicePubkey: publicKeyOf(alicePriv),
  bob: addressOf(publicKeyOf(bobPriv)),
  bobPubkey: publicKeyOf(bobPriv),
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
export const exampleTransferSig = signTx(exampleTransfer, alicePriv).sig!;

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
