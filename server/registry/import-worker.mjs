// Entry of a registry import worker thread: tsx runs the TypeScript sources here as in the main thread.
import { register } from 'tsx/esm/api';

register();
await import('./import-worker.ts');
