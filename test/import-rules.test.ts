import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

function sourceFiles(dir: string): string[] {
  const abs = path.join(root, dir);
  return readdirSync(abs).flatMap((name) => {
    const full = path.join(abs, name);
    if (statSync(full).isDirectory()) return sourceFiles(path.join(dir, name));
    return /\.(ts|mts|js|mjs)$/.test(name) ? [path.join(dir, name)] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  const found = [...text.matchAll(/(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm)];
  return found.map((m) => m[1] ?? m[2] ?? m[3]!);
}

const forbiddenPackages = /^(node:|fs$|path$|os$|child_process$|net$|http$|https$|drizzle-orm|drizzle-kit|hono|@hono\/|postgres$|@electric-sql\/|pino|node-cron)/;

describe('import rules of the design', () => {
  for (const core of ['triggers', 'geodata']) {
    it(`${core}/ imports nothing from server/ or web/, and no database, HTTP or node I/O module`, () => {
      const offences: string[] = [];
      for (const file of sourceFiles(core).filter((f) => !f.endsWith('.test.ts'))) {
        for (const spec of importsOf(file)) {
          const resolved = spec.startsWith('.') ? path.relative(root, path.resolve(root, path.dirname(file), spec)) : spec;
          if (/^(server|web)(\/|$)/.test(resolved) || forbiddenPackages.test(spec)) offences.push(`${file} imports ${spec}`);
        }
      }
      expect(offences).toEqual([]);
    });
  }

  it('web/ takes only types from server/ (erased at build time, so no server code reaches the browser)', () => {
    const offences: string[] = [];
    const valueImport = /^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s*['"]([^'"]+)['"]/gm;
    for (const file of sourceFiles('web').filter((f) => !f.includes('/dist/'))) {
      const text = readFileSync(path.join(root, file), 'utf8');
      for (const m of text.matchAll(valueImport)) {
        const resolved = path.relative(root, path.resolve(root, path.dirname(file), m[1]!));
        if (m[1]!.startsWith('.') && /^server(\/|$)/.test(resolved)) offences.push(`${file} imports code from ${m[1]}`);
      }
    }
    expect(offences).toEqual([]);
    // The check sees the type imports the client does have, so it cannot pass for want of reading them.
    expect(readFileSync(path.join(root, 'web/src/api.ts'), 'utf8')).toMatch(/import type .* from '\.\.\/\.\.\/server\//);
  });

  it('reads the imports this test relies on', () => {
    // The scanner itself must see relative and package imports, or the rules above would pass vacuously.
    const specs = importsOf('test/import-rules.test.ts');
    expect(specs).toEqual(expect.arrayContaining(['node:fs', 'vitest']));
  });
});
