// The consensus library: what every party (node, oursql-remote, web signer) must agree on.
// Pure and browser-safe: no node: imports, no I/O.
export * from './errors.ts';
export * from './bytes.ts';
export * from './canonical.ts';
export * from './amount.ts';
export * from './keys.ts';
export * from './der.ts';
export * from './signature.ts';
export * from './tx.ts';
export * from './sign.ts';
export * from './block.ts';
export * from './config.ts';
export * from './rules.ts';
export * from './state.ts';
export * from './validate.ts';
export * from './genesis.ts';
