/**
 * `oursql-remote` (SPEC 0): a client that holds its keys in an encrypted keystore and talks to a
 * node over JSON-RPC; it signs here and sends signatures only. Exit code 0 on success, 1 on any
 * error with one line on stderr.
 */
import { Command, InvalidArgumentError } from 'commander';
import { VERSION } from '../server/version.ts';
import { describeError } from './errors.ts';

// Commands load when they run: the SQL parser (about a second) only for `sql`.
const coins = () => import('./commands/coins.ts');
const wallet = () => import('./commands/wallet.ts');

/** Adds the options every command takes. */
function common(cmd: Command): Command {
  return cmd
    .option('--dir <dir>', 'config and keystore directory (default: $OURSQL_REMOTE_DIR or ~/.oursql-remote)')
    .option('--node <url>', 'node RPC URL for this command (default: the one setnode saved, else http://127.0.0.1:8765/rpc)')
    .option('--json', 'print one JSON object');
}

function count(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number');
  return Number(value);
}

function buildProgram(): Command {
  const program = new Command('oursql-remote')
    .description('OurSQL remote client: keys held here, encrypted; a node does the rest over JSON-RPC')
    .version(VERSION)
    .showSuggestionAfterError();

  common(program.command('setnode'))
    .description('the node to talk to; pins its chain (checked before every signature)')
    .argument('<url>')
    .action(async (url: string, opts) => (await import('./commands/node.ts')).setNodeCommand(url, opts));
  common(program.command('createwallet')).description('make a new key in the keystore').action(async (opts) => (await wallet()).createWalletCommand(opts));
  common(program.command('importwallet'))
    .description('add keys: a file exportwallet wrote (or one hex private key per line), or --private-key')
    .argument('[file]')
    .option('--private-key <hex>', 'one private key, 64 hex characters')
    .action(async (file: string | undefined, opts) => (await wallet()).importWalletCommand(file, opts));
  common(program.command('exportwallet'))
    .description('the private keys in clear, to FILE (never overwritten) or stdout')
    .argument('[file]')
    .action(async (file: string | undefined, opts) => (await wallet()).exportWalletCommand(file, opts));
  common(program.command('listaddresses')).description('the keystore addresses').action(async (opts) => (await wallet()).listAddressesCommand(opts));
  common(program.command('getbalance'))
    .description('approved, pending and total coins of an address (default: the first keystore address)')
    .argument('[address]')
    .action(async (address: string | undefined, opts) => (await coins()).getBalanceCommand(address, opts));
  common(program.command('listbalances')).description('the balance of every keystore address').action(async (opts) => (await coins()).listBalancesCommand(opts));
  common(program.command('send'))
    .description('send coins, signed here')
    .requiredOption('--to <addr>', 'recipient address')
    .requiredOption('--amount <coins>', 'amount in coins, up to 8 decimals (1.5)')
    .option('--from <addr>', 'keystore address paying (default: the first that can)')
    .option('--yes', 'sign without asking on the terminal')
    .action(async (opts) => (await coins()).sendCommand(opts));
  common(program.command('sql'))
    .description('one update on the node\'s database, signed here')
    .argument('<statement>')
    .option('--from <addr>', 'keystore address that signs (default: the first)')
    .option('--yes', 'sign without asking on the terminal')
    .action(async (statement: string, opts) => (await import('./commands/sql.ts')).sqlCommand(statement, opts));
  common(program.command('history'))
    .description('transactions that pay or are signed by an address, newest first')
    .argument('<address>')
    .option('--skip <n>', 'skip the newest n', count)
    .option('--count <n>', 'at most n (default 100, at most 1000)', count)
    .action(async (address: string, opts) => (await coins()).historyCommand(address, opts));
  common(program.command('unspent'))
    .description('outputs an address can spend now')
    .argument('<address>')
    .action(async (address: string, opts) => (await coins()).unspentCommand(address, opts));
  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (e) {
  const r = describeError(e);
  process.stderr.write(`error: ${r.message}\n`);
  if (!r.expected && process.env.OURSQL_DEBUG && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
  process.exitCode = 1;
}
