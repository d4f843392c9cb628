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

/**
 * Which parts of server/ may import which: a folder, or a file at server/'s top (context, errors, env, log,
 * app, serve, instance). The kernel first, then what sits on it, then the resources, then what composes
 * them. A new import between parts must be added here on purpose, and no set of edges may form a cycle.
 */
const SERVER_IMPORTS: Record<string, string[]> = {
  // the kernel: errors, configuration, the database, who acts, and the verbs' context
  errors: [],
  env: [],
  log: ['env'],
  db: [],
  access: ['db', 'errors'],
  context: ['access', 'db'],
  instance: ['db'],
  // what every resource builds on: the audit trail, HTTP plumbing, the outbox, the registry engine
  audit: ['access', 'context', 'db', 'http'],
  http: ['access', 'context', 'db', 'errors', 'registry'],
  outbox: ['access', 'audit', 'context', 'db', 'http'],
  registry: ['db', 'errors'],
  // resources
  areas: ['audit', 'context', 'db', 'errors', 'http'],
  alerts: ['access', 'areas', 'audit', 'context', 'db', 'errors', 'http', 'outbox'],
  events: ['access', 'areas', 'audit', 'context', 'db', 'errors', 'http', 'outbox'],
  rules: ['access', 'alerts', 'areas', 'audit', 'context', 'db', 'errors', 'http', 'outbox', 'registry'],
  batches: ['access', 'audit', 'context', 'db', 'errors', 'http', 'outbox', 'registry', 'rules'],
  payments: ['access', 'audit', 'batches', 'context', 'db', 'errors', 'http', 'registry'],
  plan: ['access', 'audit', 'batches', 'context', 'db', 'errors', 'http', 'registry'],
  inbox: ['batches', 'http', 'payments', 'plan'],
  feeds: ['access', 'alerts', 'audit', 'context', 'db', 'errors', 'http'],
  households: ['access', 'audit', 'context', 'db', 'http', 'registry'],
  exposure: ['access', 'http', 'registry'],
  auth: ['access', 'audit', 'context', 'db', 'errors', 'http'],
  users: ['access', 'audit', 'context', 'db', 'errors', 'http'],
  tokens: ['access', 'audit', 'context', 'db', 'errors', 'http'],
  routes: ['db', 'errors', 'http', 'outbox'],
  exchange: ['access', 'audit', 'batches', 'context', 'db', 'errors', 'households', 'http', 'registry'],
  // composition: reactions and jobs, the demo, the app, the server, the CLI
  jobs: ['alerts', 'auth', 'batches', 'context', 'db', 'feeds', 'outbox', 'payments', 'plan', 'rules'],
  demo: ['access', 'alerts', 'areas', 'batches', 'context', 'db', 'events', 'households', 'payments', 'plan', 'registry', 'rules', 'users'],
  app: ['alerts', 'areas', 'audit', 'auth', 'batches', 'db', 'exchange', 'inbox', 'payments', 'plan', 'env', 'errors', 'events', 'exposure', 'feeds', 'households', 'http', 'outbox', 'registry', 'routes', 'rules', 'tokens', 'users'],
  serve: ['app', 'areas', 'batches', 'context', 'db', 'demo', 'env', 'instance', 'jobs', 'outbox', 'registry', 'rules'],
  cli: ['access', 'alerts', 'areas', 'audit', 'batches', 'context', 'db', 'demo', 'env', 'errors', 'events', 'exchange', 'feeds', 'households', 'http', 'jobs', 'log', 'outbox', 'payments', 'plan', 'registry', 'rules', 'serve', 'tokens', 'users'],
  bin: ['cli'],
};

/** The part of server/ a file belongs to: its folder, or its own name when it sits at server/'s top. */
function serverPart(file: string): string {
  const parts = path.relative('server', file).split(path.sep);
  return parts.length === 1 ? parts[0]!.replace(/\.(ts|mts|js|mjs)$/, '') : parts[0]!;
}

/** Imports between parts of server/, as part → parts, read from the source. */
function serverGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles('server').filter((f) => !f.endsWith('.test.ts'))) {
    const from = serverPart(file);
    if (!graph.has(from)) graph.set(from, new Set());
    for (const spec of importsOf(file)) {
      if (!spec.startsWith('.')) continue;
      const target = path.relative(root, path.resolve(root, path.dirname(file), spec));
      if (!target.startsWith(`server${path.sep}`)) continue;
      const to = serverPart(target);
      if (to !== from) graph.get(from)!.add(to);
    }
  }
  return graph;
}

/** Every cycle reachable in the graph, each as a path that returns to its start. */
function cyclesOf(graph: Map<string, Set<string>>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (n: string) => {
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'open') {
      found.push([...stack.slice(stack.indexOf(n)), n]);
      return;
    }
    state.set(n, 'open');
    stack.push(n);
    for (const m of graph.get(n) ?? []) visit(m);
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of graph.keys()) visit(n);
  return found;
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

  it('server/ parts import only what the table allows', () => {
    const graph = serverGraph();
    const offences: string[] = [];
    for (const [from, tos] of graph) {
      const allowed = SERVER_IMPORTS[from];
      if (!allowed) {
        offences.push(`server/${from} is not in the table of allowed imports`);
        continue;
      }
      for (const to of tos) if (!allowed.includes(to)) offences.push(`server/${from} imports server/${to}`);
    }
    expect(offences).toEqual([]);
  });

  it('no cycle between the parts of server/, in the code or in the table', () => {
    expect(cyclesOf(serverGraph()).map((c) => c.join(' -> '))).toEqual([]);
    const table = new Map(Object.entries(SERVER_IMPORTS).map(([k, v]) => [k, new Set(v)]));
    expect(cyclesOf(table).map((c) => c.join(' -> '))).toEqual([]);
    // The detector itself finds a cycle when there is one, so the checks above cannot pass for want of it.
    expect(cyclesOf(new Map([['a', new Set(['b'])], ['b', new Set(['a'])]]))).toEqual([['a', 'b', 'a']]);
  });

  it('reads the imports this test relies on', () => {
    // The scanner itself must see relative and package imports, or the rules above would pass vacuously.
    const specs = importsOf('test/import-rules.test.ts');
    expect(specs).toEqual(expect.arrayContaining(['node:fs', 'vitest']));
  });
});
