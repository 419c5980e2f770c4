#!/usr/bin/env node
// Runs the TypeScript sources through tsx so `npm install` leaves a working binary with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../server/cli/main.ts');
