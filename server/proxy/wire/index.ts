/** The MySQL wire-protocol toolkit used by the proxy (see README.md in this folder). */
export * from './constants.ts';
export * from './errors.ts';
export * from './framing.ts';
export * from './codec.ts';
export * from './response.ts';
export * from './session.ts';
