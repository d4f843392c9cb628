import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The shared real-world samples live beside the repository, never inside it. */
export const fixturesDir = fileURLToPath(new URL('../../../shared/fixtures/', import.meta.url));

export const fixture = (relative: string): Buffer => readFileSync(new URL(relative, `file://${fixturesDir}`));
export const fixtureJson = <T = unknown>(relative: string): T => JSON.parse(fixture(relative).toString('utf8')) as T;
