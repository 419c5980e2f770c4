// The consensus library runs in browsers (web signer) and in oursql-remote: it must not touch Node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONSENSUS = join(ROOT, 'consensus');

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const isBuiltin = (spec: string): boolean => spec.startsWith('node:') || BUILTINS.has(spec) || BUILTINS.has(spec.split('/')[0]);

/** Source without comments (strings kept): good enough for the code in this repository. */
function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:'"\\])\/\/.*$/gm, '$1');
}

/** Every module specifier a file imports or re-exports, statically or dynamically, or requires. */
function specifiers(src: string): string[] {
  const code = stripComments(src);
  const out: string[] = [];
  const patterns = [
    /\bimport\s+(?:type\s+)?[^'"();]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bexport\s+(?:type\s+)?[^'"();]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) out.push(m[1]);
  return out;
}

function consensusFiles(): string[] {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(CONSENSUS);
  return files.sort();
}

test('the scanner itself finds what it must (self-check)', () => {
  const sample = [
    "import fs from 'fs';",
    "import { x } from \"node:path\";",
    "export * from './a.ts';",
    "import type { T } from 'node:crypto';",
    "import 'node:process';",
    "const m = await import('os');",
    "const r = require('child_process');",
    "// import nope from 'not-me'",
    '/* import nope2 from "not-me-either" */',
  ].join('\n');
  assert.deepEqual(specifiers(sample).sort(), ['./a.ts', 'child_process', 'fs', 'node:crypto', 'node:path', 'node:process', 'os'].sort());
  for (const s of ['fs', 'node:fs', 'path', 'crypto', 'fs/promises', 'node:test', 'worker_threads', 'buffer', 'process']) assert.ok(isBuiltin(s), s);
  for (const s of ['@noble/secp256k1', 'bs58check', 'canonicalize', './bytes.ts']) assert.equal(isBuiltin(s), false, s);
  assert.match(stripComments('const a = 1; // process.exit()'), /^const a = 1; $/);
  // "#sha256" maps to OpenSSL's file for Node; a browser gets consensus/'s
  assert.equal(resolvePackageImport('#sha256'), join(CONSENSUS, 'sha256.ts'));
});

test('consensus/ holds only TypeScript sources (so the scan below sees all of its code)', () => {
  const files = consensusFiles();
  assert.ok(files.length >= 15, files.join(', '));
  for (const f of ['index.ts', 'keys.ts', 'signature.ts', 'tx.ts', 'block.ts', 'config.ts', 'validate.ts']) {
    assert.ok(files.includes(join(CONSENSUS, f)), f);
  }
  for (const f of files) assert.ok(f.endsWith('.ts'), f);
});

test('no file in consensus/ imports node: or a Node builtin, or uses process / Buffer / require / __dirname', () => {
  for (const file of consensusFiles()) {
    const src = readFileSync(file, 'utf8');
    const specs = specifiers(src);
    for (const s of specs) assert.equal(isBuiltin(s), false, `${file} imports ${s}`);
    assert.doesNotMatch(src, /['"]node:/, `${file} mentions a node: module in code`);
    const code = stripComments(src);
    assert.doesNotMatch(code, /\bprocess\s*\./, `${file} uses process.`);
    assert.doesNotMatch(code, /\bBuffer\b/, `${file} uses Buffer`);
    assert.doesNotMatch(code, /\brequire\s*\(/, `${file} uses require()`);
    assert.doesNotMatch(code, /\b__dirname\b|\b__filename\b/, `${file} uses __dirname/__filename`);
    assert.doesNotMatch(code, /\bglobal\./, `${file} uses Node's global object`);
    // relative imports, and package.json "imports" (#…) as a browser resolves them, stay inside consensus/
    for (const s of specs.filter((x) => x.startsWith('#'))) {
      const target = resolvePackageImport(s);
      assert.ok(target.startsWith(CONSENSUS), `${file} imports ${s}, which a browser resolves to ${target}, outside consensus/`);
    }
    for (const s of specs.filter((x) => x.startsWith('.'))) {
      const target = resolve(dirname(file), s);
      assert.ok(target.startsWith(CONSENSUS), `${file} imports ${s} from outside consensus/`);
      assert.ok(existsSync(target), `${file} imports missing ${s}`);
    }
  }
});

// --- the whole import graph, dependencies included, as a browser bundler would resolve it ---

const CONDITIONS = ['browser', 'import', 'module', 'default'];

function pickExport(target: unknown): string | undefined {
  if (typeof target === 'string') return target;
  if (Array.isArray(target)) return target.map(pickExport).find(Boolean);
  if (target && typeof target === 'object') {
    const t = target as Record<string, unknown>;
    for (const c of CONDITIONS) if (c in t) {
      const r = pickExport(t[c]);
      if (r) return r;
    }
  }
  return undefined;
}

/** A `#name` import through this package's "imports" map, with a browser bundler's conditions. */
function resolvePackageImport(spec: string): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const target = pickExport(pkg.imports?.[spec]);
  if (!target) throw new Error(`${spec}: not in package.json "imports" for a browser`);
  return withExtension(join(ROOT, target));
}

function withExtension(p: string): string {
  for (const c of [p, `${p}.js`, `${p}.mjs`, `${p}/index.js`]) if (existsSync(c) && statSync(c).isFile()) return c;
  throw new Error(`cannot resolve ${p}`);
}

function resolveBare(spec: string, fromFile: string): string {
  const parts = spec.split('/');
  const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  const sub = spec.slice(name.length); // '' or '/x.js'
  for (let dir = dirname(fromFile); ; dir = dirname(dir)) {
    const pkgDir = join(dir, 'node_modules', name);
    if (existsSync(join(pkgDir, 'package.json'))) {
      const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
      if (pkg.exports !== undefined) {
        const exp = typeof pkg.exports === 'string' || Array.isArray(pkg.exports) || !Object.keys(pkg.exports).some((k) => k.startsWith('.'))
          ? { '.': pkg.exports }
          : pkg.exports;
        const key = '.' + sub;
        let target = pickExport(exp[key]);
        if (!target) {
          for (const [k, v] of Object.entries(exp)) {
            if (!k.includes('*')) continue;
            const [pre, post] = k.split('*');
            if (key.startsWith(pre) && key.endsWith(post)) {
              const star = key.slice(pre.length, key.length - post.length);
              target = pickExport(v)?.replace('*', star);
              break;
            }
          }
        }
        if (!target) throw new Error(`${spec}: not exported by ${pkgDir}`);
        return withExtension(join(pkgDir, target));
      }
      if (sub) return withExtension(join(pkgDir, sub));
      const browser = typeof pkg.browser === 'string' ? pkg.browser : undefined;
      return withExtension(join(pkgDir, browser ?? pkg.module ?? pkg.main ?? 'index.js'));
    }
    if (dir === dirname(dir)) throw new Error(`cannot find package ${name} from ${fromFile}`);
  }
}

test('the whole import graph of consensus/index.ts (dependencies included) never reaches a Node builtin', () => {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const queue = [join(CONSENSUS, 'index.ts')];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      assert.equal(isBuiltin(spec), false, `${file} imports the Node builtin ${spec}`);
      let target: string;
      if (spec.startsWith('.')) target = withExtension(resolve(dirname(file), spec));
      else if (spec.startsWith('#')) target = resolvePackageImport(spec);
      else {
        target = resolveBare(spec, file);
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
      }
      queue.push(target);
    }
  }
  // the graph really was walked into the dependencies
  for (const p of ['@noble/secp256k1', '@noble/hashes', 'bs58check', 'bs58', 'base-x', 'canonicalize']) assert.ok(packages.has(p), `${p} not reached: ${[...packages]}`);
  assert.ok([...seen].some((f) => f.includes(`node_modules${'/'}base-x`)), 'base-x source was scanned');
  assert.ok(seen.size > 20, `only ${seen.size} files`);
  // and no dependency file uses Node's Buffer or require() at module level
  for (const f of [...seen].filter((x) => x.includes('node_modules'))) {
    const code = stripComments(readFileSync(f, 'utf8'));
    assert.doesNotMatch(code, /\brequire\s*\(/, `${f} uses require()`);
    assert.doesNotMatch(code, /\bBuffer\.(from|alloc|concat|isBuffer)\b/, `${f} uses Buffer`);
  }
});
