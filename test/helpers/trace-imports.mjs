// `--import` this (NODE_OPTIONS) with OURSQL_TRACE_IMPORTS=<file>: every module the process resolves
// through the ESM loader is appended to the file, one URL per line. Tests use it to check what a
// command loads.
import { register } from 'node:module';

const hooks = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (process.env.OURSQL_TRACE_IMPORTS) appendFileSync(process.env.OURSQL_TRACE_IMPORTS, r.url + '\\n');
  return r;
}`;
register('data:text/javascript,' + encodeURIComponent(hooks));
