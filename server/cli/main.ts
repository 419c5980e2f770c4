/**
 * The `oursql` command line (SPEC 0). Command names and flags are fixed: scripts depend on them.
 * Exit code 0 on success, 1 on any error with one line on stderr.
 */
import { Command, Option } from 'commander';
import { VERSION } from '../version.ts';
import { describeError } from './errors.ts';
import { collect, collectPeer, parsePort, withCommonOptions as common } from './options.ts';

// Each command's module is loaded when it runs: `--help`, and commands that talk to a running
// node, do not load the node's whole code (MySQL driver, SQL parser, p2p…) first.
const loadChain = () => import('./commands/chain.ts');
const loadConfig = () => import('./commands/config.ts');
const loadNode = () => import('./commands/node.ts');
const loadPeers = () => import('./commands/peers.ts');
const loadSql = () => import('./commands/sql.ts');
const loadWallet = () => import('./commands/wallet.ts');

function buildProgram(argv: string[]): Command {
  const program = new Command('oursql')
    .description('OurSQL node: a blockchain replication layer for MySQL')
    .version(VERSION)
    .showSuggestionAfterError();

  common(program.command('init'))
    .description('create the datadir, wallet, databases and genesis block')
    .option('--consensus <file>', 'consensus config JSON (default: the original\'s defaults)')
    .option('--minter <addr>', 'address of the block rewards (default: a new wallet address)')
    .action(async (opts) => (await loadNode()).initCommand(opts));

  common(program.command('start'))
    .description('start the node in the background (initialises the datadir first if needed)')
    .option('--rpc-port <port>', 'JSON-RPC port (default 8765)', parsePort)
    .option('--proxy-port <port>', 'MySQL proxy port (default 8766)', parsePort)
    .option('--host <addr>', 'address to bind (default 127.0.0.1)')
    .option('--peer <host:port>', 'a peer to connect to (repeatable)', collectPeer)
    .addOption(new Option('--proxy-key <addr>', 'node-held address that signs plain updates from the proxy'))
    .addOption(new Option('--no-proxy-key', 'no node-signed updates: clients sign their own'))
    .option('--foreground', 'run in this process, log to stdout (Ctrl-C stops it)')
    .action(async (opts) => (await loadNode()).startCommand(opts, argv));

  common(program.command('import'))
    .description('set up a node for the chain of a running peer and replay that chain into this node\'s MySQL')
    .requiredOption('--peer <host:port>', 'the peer\'s HTTP port')
    .action(async (opts) => (await loadPeers()).importCommand(opts));

  common(program.command('stop')).description('stop the running node').action(async (opts) => (await loadNode()).stopCommand(opts));
  common(program.command('status')).description('node and chain summary').action(async (opts) => (await loadNode()).statusCommand(opts));
  common(program.command('printchain'))
    .description('every block of the active chain, genesis first')
    .option('--short', 'one line per block')
    .action(async (opts) => (await loadChain()).printchainCommand(opts));
  common(program.command('pool')).description('pending transactions').action(async (opts) => (await loadChain()).poolCommand(opts));
  common(program.command('mine')).description('mine one block from the pool now').action(async (opts) => (await loadChain()).mineCommand(opts));
  common(program.command('cancel'))
    .description('drop a pending transaction (and pending ones spending its outputs)')
    .argument('<txid>')
    .action(async (txid: string, opts) => (await loadChain()).cancelCommand(txid, opts));
  common(program.command('config'))
    .description('show config.json, or change keys with --set')
    .option('--set <key=value>', 'rpcPort, proxyPort, host, minter, proxyKey (address or none), mining, mysql, rpcUser, rpcPassword (repeatable)', collect)
    .action(async (opts) => (await loadConfig()).configCommand(opts));

  const wallet = program.command('wallet').description('node-held keys');
  common(wallet.command('new')).description('make a new address').action(async (opts) => (await loadWallet()).walletNewCommand(opts));
  common(wallet.command('list')).description('list the wallet addresses').action(async (opts) => (await loadWallet()).walletListCommand(opts));

  const peers = program.command('peers').description('other nodes');
  common(peers.command('list')).description('known peers and their state').action(async (opts) => (await loadPeers()).peersListCommand(opts));
  common(peers.command('add')).description('add a peer (kept across restarts)').argument('<host:port>').action(async (addr: string, opts) => (await loadPeers()).peersAddCommand(addr, opts));
  common(peers.command('remove')).description('remove an added peer').argument('<host:port>').action(async (addr: string, opts) => (await loadPeers()).peersRemoveCommand(addr, opts));

  common(program.command('balance'))
    .description('approved, pending and total coins of an address (default: every wallet address)')
    .argument('[address]')
    .action(async (address: string | undefined, opts) => (await loadWallet()).balanceCommand(address, opts));
  common(program.command('send'))
    .description('send coins from a wallet address')
    .requiredOption('--from <addr>', 'wallet address paying')
    .requiredOption('--to <addr>', 'recipient address')
    .requiredOption('--amount <coins>', 'amount in coins, up to 8 decimals (1.5)')
    .action(async (opts) => (await loadWallet()).sendCommand(opts));
  common(program.command('sql'))
    .description('run one statement on the node\'s database; an update becomes a transaction signed by a node-held key')
    .argument('<statement>')
    .option('--from <addr>', 'wallet address that signs (default: the proxy key)')
    .action(async (statement: string, opts) => (await loadSql()).sqlCommand(statement, opts));
  return program;
}

const argv = process.argv.slice(2);
try {
  await buildProgram(argv).parseAsync(process.argv);
} catch (e) {
  const r = describeError(e);
  const verbose = argv.includes('--verbose') || !!process.env.OURSQL_DEBUG;
  if (r.detail) process.stderr.write(r.detail + '\n');
  process.stderr.write(`error: ${r.message}\n`);
  if (!r.expected && verbose && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
  process.exitCode = 1;
}
