#!/usr/bin/env node
// The `madad` command. tsx runs the TypeScript sources directly; there is no build step for the server.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
