// Entry of a spatial worker thread: tsx runs the TypeScript sources here as in the main thread.
import { register } from 'tsx/esm/api';

register();
await import('./spatial-worker.ts');
