// Entry of the child process that builds the web app (see ensureWebBuildApart in web-build.ts): tsx runs
// the TypeScript sources here as in the server. It tells its parent whether it built, then exits, so
// nothing Vite leaves open keeps it alive.
import { register } from 'tsx/esm/api';

register();
const { ensureWebBuild } = await import('./web-build.ts');
const built = await ensureWebBuild({ force: process.argv.includes('--force'), quiet: process.argv.includes('--quiet') });
process.send?.({ built }, () => process.exit(0));
