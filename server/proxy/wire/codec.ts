/**
 * The wire codecs in one import: primitives (lenenc.ts), connection phase (handshake.ts),
 * response packets and result sets (packets.ts), prepared statements (stmt.ts) and parameter
 * inlining (inline.ts). Each lives in its own module; this file only re-exports.
 */
export * from './lenenc.ts';
export * from './handshake.ts';
export * from './packets.ts';
export * from './stmt.ts';
export * from './inline.ts';
