// Writes docs/rpc.md from the RPC method table (server/rpc/docs.ts renders it).
// `--check`: write nothing, exit 1 when the file is not what the table renders.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { METHODS } from '../server/rpc/dispatch.ts';
import { exampleProblems, renderRpcDocs } from '../server/rpc/docs.ts';

export const RPC_DOCS_FILE = fileURLToPath(new URL('../docs/rpc.md', import.meta.url));

const problems = exampleProblems(METHODS);
if (problems.length) {
  process.stderr.write(`examples that do not fit their method:\n${problems.join('\n')}\n`);
  process.exit(1);
}
const text = renderRpcDocs(METHODS);
if (process.argv.includes('--check')) {
  const current = await readFile(RPC_DOCS_FILE, 'utf8').catch(() => '');
  if (current !== text) {
    process.stderr.write('docs/rpc.md is out of date: run `npm run docs:rpc`\n');
    process.exit(1);
  }
} else {
  await writeFile(RPC_DOCS_FILE, text);
  process.stdout.write(`wrote ${RPC_DOCS_FILE} (${Object.keys(METHODS).length} methods)\n`);
}
