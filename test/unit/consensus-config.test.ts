import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addressOf, canonicalize, ConsensusError, DEFAULTS, parseConsensusConfig, publicKeyOf, type ConsensusConfig, type CostSet,
} from '../../consensus/index.ts';
import { EXAMPLES_DIR, KEY_A, exampleFiles, exampleText, sha256Hex, throwsCode, canon } from './consensus-helpers.ts';

const COIN = 100_000_000n;

const cost = (c: Partial<CostSet> = {}): CostSet => ({
  default: 0n, rowDelete: 0n, rowUpdate: 0n, rowInsert: 0n, tableCreate: 0n, applyAfterBlock: 0, ...c,
});

const membersRule = (c: Partial<CostSet>) => ({
  table: 'members', allowRowDelete: false, allowRowUpdate: true, allowRowInsert: true, allowTableCreate: true, allowTableDrop: true,
  cost: cost(c), applyAfterBlock: 0,
});

type Expect = Omit<ConsensusConfig, 'normalized' | 'hash' | 'kind'>;

const app = { name: 'MyBlockchainApp', webSite: 'http://oursql.org', team: 'Application Support Team' };
const base: Expect = {
  application: app,
  coinsForBlockMade: 10n * COIN,
  complexity: 16,
  complexityStep2: 24,
  maxMinNumberTransactionInBlock: 1000,
  maxNumberTransactionInBlock: 10000,
  maxBlockIntervalSeconds: 0,
  applyRulesAfterBlock: 0,
  allowTableCreate: true,
  allowTableDrop: true,
  allowRowDelete: true,
  cost: cost(),
  unmanagedTables: ['temp'],
  tableRules: [membersRule({ default: 5_000_000n, tableCreate: COIN })],
  initNodes: [],
  paidTransactionsWallet: null,
};

/** What SPEC 6 says each example file means, written out by hand. */
const EXPECTED: Record<string, Expect> = {
  'configs-differentfromdefault.json': {
    ...base,
    application: { ...app, name: 'MoreComplexMinting' },
    coinsForBlockMade: 500_000_000n,
    complexity: 24,
    complexityStep2: 30,
  },
  'configs-postponedrules.json': {
    ...base,
    allowTableCreate: false,
    cost: cost({ rowInsert: COIN, tableCreate: COIN }),
    tableRules: [
      membersRule({ default: 5_000_000n, tableCreate: COIN }),
      {
        table: 'test', allowRowDelete: true, allowRowUpdate: true, allowRowInsert: true, allowTableCreate: true, allowTableDrop: true,
        cost: cost({ default: 2n * COIN, tableCreate: 2n * COIN }), applyAfterBlock: 5,
      },
    ],
  },
  'configs-simplest.json': base,
  'configs-somepaidtables.json': {
    ...base,
    cost: cost({ rowInsert: COIN, tableCreate: COIN }),
    tableRules: [
      membersRule({ default: 5_000_000n, tableCreate: COIN }),
      {
        table: 'test', allowRowDelete: true, allowRowUpdate: true, allowRowInsert: true, allowTableCreate: true, allowTableDrop: true,
        cost: cost({ default: 2n * COIN, tableCreate: 2n * COIN }), applyAfterBlock: 0,
      },
    ],
  },
  'docker-consensusconfig.json': {
    ...base,
    application: { name: '', webSite: '', team: '' },
    unmanagedTables: [],
    tableRules: [],
  },
  'tests-customnumbers.json': {
    ...base,
    coinsForBlockMade: 15n * COIN,
    cost: cost({ tableCreate: 5n * COIN }),
    tableRules: [membersRule({ default: COIN / 2n, tableCreate: 10n * COIN })],
  },
  'tests-disabledcreate.json': {
    ...base,
    coinsForBlockMade: 15n * COIN,
    allowTableCreate: false,
    allowTableDrop: false,
    cost: cost({ applyAfterBlock: 2 }),
    tableRules: [
      { ...membersRule({ default: COIN / 2n, tableCreate: 10n * COIN, applyAfterBlock: 5 }), allowTableCreate: false },
      {
        table: 'test', allowRowDelete: false, allowRowUpdate: false, allowRowInsert: true, allowTableCreate: false, allowTableDrop: true,
        cost: cost({ default: COIN / 2n, tableCreate: 10n * COIN }), applyAfterBlock: 4,
      },
    ],
  },
  'tests-hardpow.json': {
    ...base,
    complexity: 22,
    complexityStep2: 24,
    maxMinNumberTransactionInBlock: 20,
    tableRules: [],
  },
  'tests-postponedlimits.json': {
    ...base,
    coinsForBlockMade: 15n * COIN,
    applyRulesAfterBlock: 2,
    allowTableDrop: false,
    cost: cost({ applyAfterBlock: 2, tableCreate: 5n * COIN }),
    tableRules: [
      membersRule({ default: COIN / 2n, tableCreate: 10n * COIN, applyAfterBlock: 5 }),
      {
        table: 'test', allowRowDelete: false, allowRowUpdate: false, allowRowInsert: true, allowTableCreate: true, allowTableDrop: true,
        cost: cost({ default: COIN / 2n, tableCreate: 10n * COIN, applyAfterBlock: 5 }), applyAfterBlock: 4,
      },
    ],
  },
  'tests-simplest.json': base,
};

/** Pinned config hashes: a change here means every existing chain would refuse the new code. */
const PINNED_HASH: Record<string, string> = {
  'configs-differentfromdefault.json': 'a0cb63d4c995755d16a058a4966a6b9c3cd82f6f834114e075453edb034de5e4',
  'configs-postponedrules.json': 'a5265c3596fa7d7548d1a7640f711a805218d4ee21acf754863da5e83010f0ac',
  'configs-simplest.json': '3585668df13d54159f5eacfdeb018303f0b975daed6355a33e075a8a3c37c0b1',
  'configs-somepaidtables.json': '1c54afa81bd94517a66dbe5a559daa1ab81272b5a200751a55252e5ef6719515',
  'docker-consensusconfig.json': 'd001e254c2f81eb8fd824b0167bc0f3aad915dd6c10b54de9a53da2bb3b37c96',
  'tests-customnumbers.json': '3cb0b6429b4efc2d4a62256afb24807fa5ea10d9329efa6e927e960f839b0237',
  'tests-disabledcreate.json': '75e277b7528971fa9c4cbdb7b93d7cdb099b65f3c2eb618d0eff5e6d35a02842',
  'tests-hardpow.json': '799cdd0205163add08ca9566f841475f5e788d4de900588b75b7a1faafaf3c42',
  'tests-postponedlimits.json': 'f67f6314fdd14c948b001fce607ff09ed218eb2f9d86efcfc3adb08c874900cc',
  'tests-simplest.json': '3585668df13d54159f5eacfdeb018303f0b975daed6355a33e075a8a3c37c0b1',
};

function meaning(c: ConsensusConfig): Expect {
  const { normalized: _n, hash: _h, kind: _k, ...rest } = c;
  return rest;
}


/** Reverses key order at every level (same meaning, different text). */
function reverseKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reverseKeys);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).reverse().map(([k, x]) => [k, reverseKeys(x)]));
  }
  return v;
}

/** Independent reading of the raw JSON: every key present means its value, a missing key its default. */
function independentReading(raw: Record<string, any>): Expect {
  const units = (n: unknown, d = 0): bigint => BigInt(Math.round(Number(n ?? d) * 1e8));
  const costOf = (c: Record<string, any> = {}): CostSet => ({
    default: units(c.Default), rowDelete: units(c.RowDelete), rowUpdate: units(c.RowUpdate), rowInsert: units(c.RowInsert),
    tableCreate: units(c.TableCreate), applyAfterBlock: c.ApplyAfterBlock ?? 0,
  });
  const s = raw.Settings ?? {};
  return {
    application: { name: raw.Application?.Name ?? '', webSite: raw.Application?.WebSite ?? '', team: raw.Application?.Team ?? '' },
    coinsForBlockMade: units(raw.CoinsForBlockMade, 10),
    complexity: s.Complexity ?? 16,
    complexityStep2: s.ComplexityStep2 ?? 24,
    maxMinNumberTransactionInBlock: s.MaxMinNumberTransactionInBlock ?? 1000,
    maxNumberTransactionInBlock: s.MaxNumberTransactionInBlock ?? 10000,
    maxBlockIntervalSeconds: s.MaxBlockIntervalSeconds ?? 0,
    applyRulesAfterBlock: raw.ApplyRulesAfterBlock ?? 0,
    allowTableCreate: raw.AllowTableCreate ?? true,
    allowTableDrop: raw.AllowTableDrop ?? true,
    allowRowDelete: raw.AllowRowDelete ?? true,
    cost: costOf(raw.TransactionCost),
    unmanagedTables: raw.UnmanagedTables ?? [],
    tableRules: (raw.TableRules ?? []).map((t: Record<string, any>) => ({
      table: t.Table,
      allowRowDelete: t.AllowRowDelete ?? true,
      allowRowUpdate: t.AllowRowUpdate ?? true,
      allowRowInsert: t.AllowRowInsert ?? true,
      allowTableCreate: t.AllowTableCreate ?? true,
      allowTableDrop: t.AllowTableDrop ?? true,
      cost: costOf(t.TransactionCost),
      applyAfterBlock: t.ApplyAfterBlock ?? 0,
    })),
    initNodes: raw.InitNodesAddreses ?? [],
    paidTransactionsWallet: raw.PaidTransactionsWallet || null,
  };
}

test('the examples directory is found and holds the known files', () => {
  const files = exampleFiles();
  assert.ok(files.length >= 10, `${EXAMPLES_DIR}: ${files.join(', ')}`);
  for (const name of Object.keys(EXPECTED)) assert.ok(files.includes(name), `${name} missing from ${EXAMPLES_DIR}`);
});

test('every example config parses unchanged and means what its keys say (SPEC 6)', () => {
  for (const file of exampleFiles()) {
    const text = exampleText(file);
    const cfg = parseConsensusConfig(text);
    assert.equal(cfg.kind, 'proofofwork', file);
    assert.deepEqual(meaning(cfg), independentReading(JSON.parse(text)), file);
    // the parsed object and the text are the same config
    assert.equal(parseConsensusConfig(JSON.parse(text)).hash, cfg.hash, file);
    // hash = sha256 of the canonical normalized config without InitNodesAddreses
    const { InitNodesAddreses: _i, ...hashed } = cfg.normalized;
    assert.equal(cfg.hash, sha256Hex(canon(hashed)), file);
    assert.equal(canonicalize(hashed), canon(hashed), file);
    // the normalized form parses to the same meaning and the same hash (what `import` receives)
    const again = parseConsensusConfig(JSON.parse(JSON.stringify(cfg.normalized)));
    assert.deepEqual(meaning(again), meaning(cfg), file);
    assert.equal(again.hash, cfg.hash, file);
    assert.deepEqual(again.normalized, cfg.normalized, file);
  }
});

test('each known example file has the concrete values SPEC 6 gives it', () => {
  for (const [file, expected] of Object.entries(EXPECTED)) {
    const cfg = parseConsensusConfig(exampleText(file));
    assert.deepEqual(meaning(cfg), expected, file);
  }
  // spelled out for the ones the brief names
  const d = parseConsensusConfig(exampleText('configs-differentfromdefault'));
  assert.equal(d.coinsForBlockMade, 500_000_000n);
  assert.equal(d.complexity, 24);
  assert.equal(d.complexityStep2, 30);
  assert.equal(d.tableRules[0].table, 'members');
  assert.equal(d.tableRules[0].cost.default, 5_000_000n);
  assert.equal(d.tableRules[0].cost.tableCreate, 100_000_000n);
  assert.deepEqual(d.unmanagedTables, ['temp']);
  const dock = parseConsensusConfig(exampleText('docker-consensusconfig'));
  assert.equal(dock.complexity, DEFAULTS.Complexity);
  assert.equal(dock.complexity, 16);
  assert.equal(dock.complexityStep2, 24);
  assert.equal(dock.maxMinNumberTransactionInBlock, 1000);
  assert.equal(dock.maxNumberTransactionInBlock, 10000);
  assert.equal(dock.maxBlockIntervalSeconds, 0);
  assert.deepEqual(dock.cost, cost());
  assert.deepEqual(dock.normalized.Settings, {
    Complexity: 16, ComplexityStep2: 24, MaxMinNumberTransactionInBlock: 1000, MaxNumberTransactionInBlock: 10000, MaxBlockIntervalSeconds: 0,
  });
  assert.deepEqual(dock.normalized.TransactionCost, { Default: 0, RowDelete: 0, RowUpdate: 0, RowInsert: 0, TableCreate: 0, ApplyAfterBlock: 0 });
  const pl = parseConsensusConfig(exampleText('tests-postponedlimits'));
  assert.equal(pl.applyRulesAfterBlock, 2);
  assert.equal(pl.cost.applyAfterBlock, 2);
  assert.equal(pl.cost.tableCreate, 500_000_000n);
  assert.equal(pl.allowTableDrop, false);
  assert.equal(pl.tableRules[1].applyAfterBlock, 4);
  assert.equal(pl.tableRules[1].cost.applyAfterBlock, 5);
  // A table rule's missing cost keys take the defaults (0), not the global values.
  const paid = parseConsensusConfig(exampleText('configs-somepaidtables'));
  assert.equal(paid.cost.rowInsert, COIN);
  assert.equal(paid.tableRules[0].cost.rowInsert, 0n);
  assert.equal(paid.tableRules[1].cost.rowInsert, 0n);
  // "PaidTransactionsWallet": "" means burn
  assert.equal(parseConsensusConfig(exampleText('tests-customnumbers')).paidTransactionsWallet, null);
});

test('config hashes: pinned, equal for equal meaning, distinct otherwise', () => {
  const hashes = new Map<string, string>();
  for (const file of exampleFiles()) hashes.set(file, parseConsensusConfig(exampleText(file)).hash);
  for (const [file, h] of Object.entries(PINNED_HASH)) assert.equal(hashes.get(file), h, file);
  for (const file of Object.keys(EXPECTED)) assert.ok(PINNED_HASH[file], `no pinned hash for ${file}: ${hashes.get(file)}`);
  // The defaults config hashed by hand: exactly this object, canonical, without InitNodesAddreses.
  const defaultsNormalized = {
    Application: { Name: '', WebSite: '', Team: '' },
    Kind: 'proofofwork',
    CoinsForBlockMade: 10,
    Settings: { Complexity: 16, ComplexityStep2: 24, MaxMinNumberTransactionInBlock: 1000, MaxNumberTransactionInBlock: 10000, MaxBlockIntervalSeconds: 0 },
    ApplyRulesAfterBlock: 0,
    AllowTableCreate: true,
    AllowTableDrop: true,
    AllowRowDelete: true,
    TransactionCost: { Default: 0, RowDelete: 0, RowUpdate: 0, RowInsert: 0, TableCreate: 0, ApplyAfterBlock: 0 },
    UnmanagedTables: [],
    TableRules: [],
    PaidTransactionsWallet: '',
  };
  assert.equal(sha256Hex(canon(defaultsNormalized)), PINNED_HASH['docker-consensusconfig.json']);
  assert.deepEqual(parseConsensusConfig(exampleText('docker-consensusconfig')).normalized, { ...defaultsNormalized, InitNodesAddreses: [] });
  // configs-simplest and tests-simplest say the same thing
  assert.equal(hashes.get('configs-simplest.json'), hashes.get('tests-simplest.json'));
  const distinct = new Set([...hashes.entries()].filter(([f]) => f !== 'tests-simplest.json').map(([, h]) => h));
  assert.equal(distinct.size, hashes.size - 1, 'every other example has its own hash');
  for (const h of hashes.values()) assert.match(h, /^[0-9a-f]{64}$/);
});

test('config hash is stable under key order, whitespace, number spelling and InitNodesAddreses', () => {
  for (const file of exampleFiles()) {
    const text = exampleText(file);
    const raw = JSON.parse(text);
    const h = parseConsensusConfig(text).hash;
    assert.equal(parseConsensusConfig(text).hash, h, 'same file → same hash');
    assert.equal(parseConsensusConfig(JSON.stringify(raw)).hash, h, 'minified');
    assert.equal(parseConsensusConfig(JSON.stringify(reverseKeys(raw), null, 7)).hash, h, 'reordered and re-indented');
    assert.equal(parseConsensusConfig({ ...raw, InitNodesAddreses: ['10.0.0.1:8765', 'node.example:8765'] }).hash, h, 'bootstrap nodes');
    const noInit = { ...raw };
    delete noInit.InitNodesAddreses;
    assert.equal(parseConsensusConfig(noInit).hash, h, 'InitNodesAddreses absent');
    assert.equal(parseConsensusConfig(text.replace(/"CoinsForBlockMade":\s*([0-9]+)\.0\b/, '"CoinsForBlockMade":$1')).hash, h, '10.0 = 10');
  }
  // explicit defaults = missing keys
  const docker = parseConsensusConfig(exampleText('docker-consensusconfig'));
  const explicit = parseConsensusConfig({
    Application: { Name: '', WebSite: '', Team: '' }, Kind: 'proofofwork', CoinsForBlockMade: 10,
    Settings: { Complexity: 16, ComplexityStep2: 24, MaxMinNumberTransactionInBlock: 1000, MaxNumberTransactionInBlock: 10000, MaxBlockIntervalSeconds: 0 },
    ApplyRulesAfterBlock: 0, AllowTableCreate: true, AllowTableDrop: true, AllowRowDelete: true,
    TransactionCost: { Default: 0, RowDelete: 0, RowUpdate: 0, RowInsert: 0, TableCreate: 0, ApplyAfterBlock: 0 },
    UnmanagedTables: [], TableRules: [], InitNodesAddreses: [], PaidTransactionsWallet: '',
  });
  assert.equal(explicit.hash, docker.hash);
  assert.equal(parseConsensusConfig({}).hash, docker.hash, 'an empty config is all defaults');
  assert.equal(parseConsensusConfig({ CoinsForBlockMade: '10' }).hash, docker.hash, 'coins as a decimal string');
});

test('a changed value changes the config hash', () => {
  const raw = JSON.parse(exampleText('tests-disabledcreate'));
  const h = parseConsensusConfig(raw).hash;
  const edits: Record<string, (c: any) => void> = {
    CoinsForBlockMade: (c) => { c.CoinsForBlockMade = 15.00000001; },
    Complexity: (c) => { c.Settings.Complexity = 17; },
    ComplexityStep2: (c) => { c.Settings.ComplexityStep2 = 25; },
    MaxMin: (c) => { c.Settings.MaxMinNumberTransactionInBlock = 999; },
    Max: (c) => { c.Settings.MaxNumberTransactionInBlock = 9999; },
    MaxBlockIntervalSeconds: (c) => { c.Settings.MaxBlockIntervalSeconds = 60; },
    ApplyRulesAfterBlock: (c) => { c.ApplyRulesAfterBlock = 1; },
    AllowTableCreate: (c) => { c.AllowTableCreate = true; },
    AllowTableDrop: (c) => { c.AllowTableDrop = true; },
    AllowRowDelete: (c) => { c.AllowRowDelete = false; },
    'cost Default': (c) => { c.TransactionCost.Default = 0.00000001; },
    'cost ApplyAfterBlock': (c) => { c.TransactionCost.ApplyAfterBlock = 3; },
    UnmanagedTables: (c) => { c.UnmanagedTables = ['temp', 'cache']; },
    'rule removed': (c) => { c.TableRules.pop(); },
    'rules reordered': (c) => { c.TableRules.reverse(); },
    'rule permission': (c) => { c.TableRules[1].AllowRowInsert = false; },
    'rule AllowTableDrop': (c) => { c.TableRules[1].AllowTableDrop = false; },
    'rule ApplyAfterBlock': (c) => { c.TableRules[1].ApplyAfterBlock = 5; },
    'rule cost': (c) => { c.TableRules[0].TransactionCost.RowUpdate = 0.1; },
    'rule cost gate': (c) => { c.TableRules[0].TransactionCost.ApplyAfterBlock = 6; },
    'rule table name': (c) => { c.TableRules[0].Table = 'Members'; },
    PaidTransactionsWallet: (c) => { c.PaidTransactionsWallet = addressOf(publicKeyOf(KEY_A)); },
    'Application.Name': (c) => { c.Application.Name = 'Other'; },
  };
  const seen = new Set([h]);
  for (const [what, edit] of Object.entries(edits)) {
    const c = JSON.parse(JSON.stringify(raw));
    edit(c);
    const h2 = parseConsensusConfig(c).hash;
    assert.notEqual(h2, h, what);
    assert.ok(!seen.has(h2), `${what} collides with another edit`);
    seen.add(h2);
  }
});

test('costs in config are coins converted exactly', () => {
  const c = parseConsensusConfig({
    CoinsForBlockMade: 0.1,
    TransactionCost: { Default: 0.3, RowDelete: 0.00000001, RowUpdate: 1e-7, RowInsert: 123456.789, TableCreate: '0.05' },
  });
  assert.equal(c.coinsForBlockMade, 10_000_000n);
  assert.equal(c.cost.default, 30_000_000n);
  assert.equal(c.cost.rowDelete, 1n);
  assert.equal(c.cost.rowUpdate, 10n);
  assert.equal(c.cost.rowInsert, 12_345_678_900_000n);
  assert.equal(c.cost.tableCreate, 5_000_000n);
  assert.deepEqual(c.normalized.TransactionCost, { Default: 0.3, RowDelete: 1e-8, RowUpdate: 1e-7, RowInsert: 123456.789, TableCreate: 0.05, ApplyAfterBlock: 0 });
  assert.equal(c.normalized.CoinsForBlockMade, 0.1);
  assert.equal(parseConsensusConfig({ CoinsForBlockMade: 0 }).coinsForBlockMade, 0n, 'a chain may mint nothing');
  const wallet = addressOf(publicKeyOf(KEY_A));
  assert.equal(parseConsensusConfig({ PaidTransactionsWallet: wallet }).paidTransactionsWallet, wallet);
});

test('two different amounts never share a hash (amounts a JSON number cannot carry are refused)', () => {
  // 90071992.54740993 coins = 9007199254740993 units: the JSON number in the normalized config would
  // print as 90071992.54740994, so two different configs would get one hash. Refused instead.
  const e = throwsCode(() => parseConsensusConfig({ CoinsForBlockMade: '90071992.54740993' }), 'bad-config', 'CoinsForBlockMade');
  assert.equal(e.details?.key, 'CoinsForBlockMade');
  throwsCode(() => parseConsensusConfig({ TransactionCost: { Default: '12345678.123456789' } }), 'bad-config', 'TransactionCost.Default');
  throwsCode(() => parseConsensusConfig({ TableRules: [{ Table: 't', TransactionCost: { RowInsert: '1234567890.12345678' } }] }), 'bad-config', 'TableRules[0].TransactionCost.RowInsert');
  // 15 significant digits are fine and survive the normalized round trip
  for (const v of ['9999999.99999999', '1234567.12345678', '0.12345678', '100000000000000']) {
    const c = parseConsensusConfig({ CoinsForBlockMade: v });
    assert.equal(parseConsensusConfig(JSON.parse(JSON.stringify(c.normalized))).coinsForBlockMade, c.coinsForBlockMade, v);
  }
});

test('bad configs are refused with bad-config and a message naming the key', () => {
  const good = () => JSON.parse(exampleText('configs-somepaidtables'));
  const cases: [string, (c: any) => unknown, string][] = [
    ['unknown top-level key', (c) => { c.Foo = 1; return c; }, 'Foo'],
    ['misspelled key', (c) => { c.InitNodesAddresses = []; return c; }, 'InitNodesAddresses'],
    ['unknown Settings key', (c) => { c.Settings.Difficulty = 3; return c; }, 'Settings.Difficulty'],
    ['unknown Application key', (c) => { c.Application.Owner = 'x'; return c; }, 'Application.Owner'],
    ['Application not an object', (c) => { c.Application = 'x'; return c; }, 'Application'],
    ['Settings a list', (c) => { c.Settings = []; return c; }, 'Settings'],
    ['Complexity "x"', (c) => { c.Settings.Complexity = 'x'; return c; }, 'Settings.Complexity'],
    ['Complexity negative', (c) => { c.Settings.Complexity = -1; return c; }, 'Settings.Complexity'],
    ['Complexity fractional', (c) => { c.Settings.Complexity = 16.5; return c; }, 'Settings.Complexity'],
    ['Complexity over 255', (c) => { c.Settings.Complexity = 256; return c; }, 'Settings.Complexity'],
    ['ComplexityStep2 null', (c) => { c.Settings.ComplexityStep2 = null; return c; }, 'Settings.ComplexityStep2'],
    ['MaxNumberTransactionInBlock 0', (c) => { c.Settings.MaxNumberTransactionInBlock = 0; return c; }, 'Settings.MaxNumberTransactionInBlock'],
    ['MaxBlockIntervalSeconds string', (c) => { c.Settings.MaxBlockIntervalSeconds = '60'; return c; }, 'Settings.MaxBlockIntervalSeconds'],
    ['ApplyRulesAfterBlock negative', (c) => { c.ApplyRulesAfterBlock = -2; return c; }, 'ApplyRulesAfterBlock'],
    ['AllowTableCreate "yes"', (c) => { c.AllowTableCreate = 'yes'; return c; }, 'AllowTableCreate'],
    ['AllowRowDelete 1', (c) => { c.AllowRowDelete = 1; return c; }, 'AllowRowDelete'],
    ['CoinsForBlockMade negative', (c) => { c.CoinsForBlockMade = -1; return c; }, 'CoinsForBlockMade'],
    ['CoinsForBlockMade text', (c) => { c.CoinsForBlockMade = 'ten'; return c; }, 'CoinsForBlockMade'],
    ['CoinsForBlockMade bool', (c) => { c.CoinsForBlockMade = true; return c; }, 'CoinsForBlockMade'],
    ['CoinsForBlockMade 9 decimals', (c) => { c.CoinsForBlockMade = 0.123456789; return c; }, 'CoinsForBlockMade'],
    ['negative cost', (c) => { c.TransactionCost.RowInsert = -1; return c; }, 'TransactionCost.RowInsert'],
    ['negative cost as text', (c) => { c.TransactionCost.Default = '-0.5'; return c; }, 'TransactionCost.Default'],
    ['cost not a number', (c) => { c.TransactionCost.TableCreate = [1]; return c; }, 'TransactionCost.TableCreate'],
    ['unknown cost key', (c) => { c.TransactionCost.RowSelect = 1; return c; }, 'TransactionCost.RowSelect'],
    ['cost ApplyAfterBlock fractional', (c) => { c.TransactionCost.ApplyAfterBlock = 1.5; return c; }, 'TransactionCost.ApplyAfterBlock'],
    ['TransactionCost a number', (c) => { c.TransactionCost = 5; return c; }, 'TransactionCost'],
    ['bad PaidTransactionsWallet', (c) => { c.PaidTransactionsWallet = '1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMh'; return c; }, 'PaidTransactionsWallet'],
    ['PaidTransactionsWallet a pubkey', (c) => { c.PaidTransactionsWallet = publicKeyOf(KEY_A); return c; }, 'PaidTransactionsWallet'],
    ['PaidTransactionsWallet number', (c) => { c.PaidTransactionsWallet = 5; return c; }, 'PaidTransactionsWallet'],
    ['Kind proofofstake', (c) => { c.Kind = 'proofofstake'; return c; }, 'Kind'],
    ['Kind number', (c) => { c.Kind = 1; return c; }, 'Kind'],
    ['TableRules not a list', (c) => { c.TableRules = { Table: 'members' }; return c; }, 'TableRules'],
    ['TableRules a string', (c) => { c.TableRules = 'members'; return c; }, 'TableRules'],
    ['table rule not an object', (c) => { c.TableRules[1] = 'test'; return c; }, 'TableRules[1]'],
    ['duplicate table rule', (c) => { c.TableRules.push({ Table: 'members' }); return c; }, 'members'],
    ['table rule without Table', (c) => { delete c.TableRules[1].Table; return c; }, 'TableRules[1].Table'],
    ['table rule with empty Table', (c) => { c.TableRules[0].Table = ''; return c; }, 'TableRules[0].Table'],
    ['table rule unknown key', (c) => { c.TableRules[1].AllowRowSelect = true; return c; }, 'TableRules[1].AllowRowSelect'],
    ['table rule permission not bool', (c) => { c.TableRules[0].AllowRowUpdate = 'no'; return c; }, 'TableRules[0].AllowRowUpdate'],
    ['table rule negative cost', (c) => { c.TableRules[0].TransactionCost.Default = -0.05; return c; }, 'TableRules[0].TransactionCost.Default'],
    ['table rule ApplyAfterBlock text', (c) => { c.TableRules[1].ApplyAfterBlock = '5'; return c; }, 'TableRules[1].ApplyAfterBlock'],
    ['UnmanagedTables a string', (c) => { c.UnmanagedTables = 'temp'; return c; }, 'UnmanagedTables'],
    ['UnmanagedTables numbers', (c) => { c.UnmanagedTables = [1]; return c; }, 'UnmanagedTables'],
    ['InitNodesAddreses not strings', (c) => { c.InitNodesAddreses = [{}]; return c; }, 'InitNodesAddreses'],
  ];
  for (const [what, edit, key] of cases) {
    const e = throwsCode(() => parseConsensusConfig(edit(good())), 'bad-config', key, what);
    assert.ok(e.message.startsWith('consensus config'), `${what}: ${e.message}`);
    // the same error when the config arrives as text
    throwsCode(() => parseConsensusConfig(JSON.stringify(edit(good()))), 'bad-config', key, `${what} (text)`);
  }
  // duplicate rule error names TableRules too
  const dup = good();
  dup.TableRules.push({ Table: 'test' });
  const e = throwsCode(() => parseConsensusConfig(dup), 'bad-config', 'TableRules');
  assert.equal(e.details?.key, 'TableRules');
  assert.match(e.message, /"test" twice/);
  // details.key carries the exact path
  const k = throwsCode(() => parseConsensusConfig({ Settings: { Complexity: 'x' } }), 'bad-config');
  assert.equal(k.details?.key, 'Settings.Complexity');
});

test('invalid JSON and non-object configs are refused with bad-config', () => {
  for (const text of ['{', '', '{"Kind":"proofofwork",}', "{'Kind':'proofofwork'}", 'nul', exampleText('configs-simplest').slice(0, -3)]) {
    throwsCode(() => parseConsensusConfig(text), 'bad-config', /not valid JSON/, JSON.stringify(text));
  }
  for (const v of ['[]', '5', 'null', '"x"', [], null, 5, true]) {
    throwsCode(() => parseConsensusConfig(v), 'bad-config', 'must be a JSON object', JSON.stringify(v));
  }
  assert.ok(new ConsensusError('bad-config', 'x') instanceof Error);
});
