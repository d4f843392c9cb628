import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/client.ts';
import { ensureDefaultAreas } from '../../server/areas/service.ts';
import { declareFlood, loadFloodRules, NOW, seedAreas, seedFloodRegistry } from '../batches/setup.ts';
import { TEST_DEDUP_KEY } from '../harness/app.ts';
import { runCli } from '../harness/cli.ts';
import { setupCtx } from '../harness/factories.ts';

/** `madad plan` as an operator runs it, on an embedded data folder holding a declared Sindh flood. */
describe('madad plan', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'madad-plan-cli-'));
  const env = { MADAD_DATA_DIR: dir, DATABASE_URL: undefined, MADAD_DEDUP_KEY: TEST_DEDUP_KEY };
  const madad = (...args: string[]) => runCli(args, env);
  let eventId: string;

  beforeAll(async () => {
    const database = await openDatabase({ dataDir: dir });
    try {
      await database.migrate();
      await ensureDefaultAreas(setupCtx(database.db, NOW));
      await seedAreas(database.db);
      await seedFloodRegistry(database);
      await loadFloodRules(database.db);
      eventId = (await declareFlood(database.db)).id;
    } finally {
      await database.close();
    }
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('shows the plan: due in Pakistan time and after the trigger, status, lead agency and whether it accepted', async () => {
    const shown = await madad('plan', 'show', eventId);
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^Plan of .+ \(flood, event:[0-9a-f-]{36}\), open$/m);
    // Nine pre-agreed actions and two batches; the clock of the CLI is today's, long after the test's flood.
    expect(shown.stdout).toMatch(/actions +11: 11 planned; 9 overdue, 9 not yet accepted/);
    expect(shown.stdout).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2} PKT \(T\+24 h\) +planned, OVERDUE +PDMA Sindh \(not accepted\) +coordination +PDMA Sindh confirms/m);
    expect(shown.stdout).toMatch(/planned +BISP \(not submitted\) +cash +BISP pays the flood relief top-up .+PKR 150,000 committed, PKR 0 released, PKR 0 paid/);
    const json = await madad('plan', 'show', `event:${eventId}`, '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ incident: `event:${eventId}`, counts: { total: 11 } });
  }, 180_000);

  it('exports CSV with the HXL row to standard output, and GeoJSON to a file written whole', async () => {
    const csv = await madad('plan', 'export', eventId, '--format', 'csv');
    expect(csv.code).toBe(0);
    const [header, hxl] = csv.stdout.split('\r\n');
    expect(header).toMatch(/^Incident,Action,Title,Sector,Lead agency,Supporting agencies,Province,District,Tehsil/);
    expect(hxl).toMatch(/^#event\+id,#activity\+id,#activity\+name,#sector,#org\+lead,#org\+impl,#adm1\+code,#adm2\+code,#adm3\+code/);
    const out = path.join(dir, 'plan.geojson');
    const geo = await madad('plan', 'export', eventId, '--format', 'geojson', '--out', out);
    expect(geo.code).toBe(0);
    expect(geo.stderr).toMatch(/^wrote .+plan\.geojson: 11 actions of event:/);
    const written = JSON.parse(readFileSync(out, 'utf8'));
    expect(written.type).toBe('FeatureCollection');
    expect(written.features).toHaveLength(11);
  }, 180_000);

  it('sums up the open incidents, and refuses what it cannot read', async () => {
    const summary = await madad('plan', 'summary');
    expect(summary.code).toBe(0);
    expect(summary.stdout).toMatch(/^BISP +\d+ +\d+ +\d+ +\d+ +\d+ +\d+$/m);
    const format = await madad('plan', 'export', eventId, '--format', 'xlsx');
    expect(format.code).not.toBe(0);
    expect(format.stderr).toBe('madad: --format: expected csv or geojson, got "xlsx"\n');
    const missing = await madad('plan', 'show', '00000000-0000-4000-8000-000000000000');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/^madad: not found: No event 00000000-0000-4000-8000-000000000000\.\n$/);
  }, 180_000);
});
