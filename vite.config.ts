/**
 * Builds the web signer (web-signer/) into dist/web-signer, which the node serves at `/`
 * (server/web/static.ts). `npm install` builds it (the `prepare` script); `npx vite` serves it for
 * development with /rpc proxied to a node: OURSQL_NODE_URL (default http://127.0.0.1:8765).
 */
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const root = fileURLToPath(new URL('./web-signer/', import.meta.url));
const outDir = fileURLToPath(new URL('./dist/web-signer/', import.meta.url));
const nodeUrl = process.env.OURSQL_NODE_URL ?? 'http://127.0.0.1:8765';

/**
 * The web signer shares code with the node and oursql-remote (consensus/, the pure remoteclient/
 * modules, the SQL matcher): a Node builtin reaching the bundle is a build error, not a runtime one.
 */
function noNodeBuiltins(): Plugin {
  const builtins = new Set(builtinModules);
  return {
    name: 'oursql-no-node-builtins',
    enforce: 'pre',
    resolveId(id, importer) {
      if (id.startsWith('node:') || builtins.has(id)) this.error(`${importer ?? 'the web signer'} imports the Node builtin "${id}": the web signer runs in browsers`);
      return null;
    },
  };
}

const rpcProxy = { '/rpc': { target: nodeUrl, changeOrigin: true } };

export default defineConfig({
  root,
  base: './',
  publicDir: false,
  plugins: [noNodeBuiltins()],
  resolve: {
    // The MariaDB-only build of the SQL parser: the same grammar the node uses, a tenth of the size.
    alias: [{ find: /^node-sql-parser$/, replacement: 'node-sql-parser/build/mariadb.js' }],
  },
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 2048,
  },
  server: { host: '127.0.0.1', proxy: rpcProxy },
  preview: { host: '127.0.0.1', proxy: rpcProxy },
});
