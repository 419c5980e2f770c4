// The read-relay process runs the TypeScript sources through tsx, as bin/oursql.js does.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
