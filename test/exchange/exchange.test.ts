import { createHash } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../server/db/client.ts';
import { agreements, batches, batchLines, exchangeExportChunks, householdFieldSources, households, reservations } from '../../server/db/schema/index.ts';
import { declareEvent } from '../../server/events/service.ts';
import { linkageKey } from '../../server/exchange/fields.ts';
import { sliceText } from '../../server/exchange/export.ts';
import type { Share } from '../../server/exchange/agreements.ts';
import { testApp } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { Readable } from 'node:stream';
import { household, makeEvent, registryCsv, setupCtx } from '../harness/factories.ts';
import { cnicOf, loadFloodRules, NOW, seedFloodRegistry, settle } from '../batches/setup.ts';
import { PUNJAB_DISTRICT, SINDH_DISTRICT, seedAreas } from '../rules/setup.ts';
import { importTwoRegistries, officer, type TwoRegistries } from './setup.ts';

const FIELDS = ['household_id', 'district', 'tehsil', 'household_size', 'pmt_score', 'female_headed', 'has_disabled'];

describe.each(drivers)('registry exchange under agreements, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let now = NOW;
  let regs: TwoRegistries;
  /** Every response body of the test, to prove no CNIC, name or phone ever left. */
  const seen: string[] = [];
  let bisp: Record<'maker' | 'checker' | 'federal' | 'auditor', { authorization: string; name: string }>;
  let pspa: { authorization: string; name: string };
  let sspa: { authorization: string; name: string };
  let other: { authorization: string; name: string };

  const call = async (who: { authorization: string }, method: string, path: string, body?: unknown, contentType = 'application/json') => {
    const res = await app.request(path, {
      method,
      headers: { authorization: who.authorization, ...(body !== undefined ? { 'content-type': contentType } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    seen.push(text, JSON.stringify(Object.fromEntries(res.headers)));
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: res.status, text, json, headers: res.headers };
  };

  const agreementBody = (over: Record<string, unknown> = {}) => ({
    title: 'BISP and PSPA: NSER and PSER for flood response in Punjab',
    partyA: 'BISP',
    partyB: 'PSPA',
    purpose: 'disaster_response',
    jurisdiction: 'PK6',
    linkage: 'pseudonymous',
    shares: [
      { source: 'NSER', from: 'BISP', to: 'PSPA', fields: FIELDS },
      { source: 'PSER', from: 'PSPA', to: 'BISP', fields: ['household_id', 'district', 'pmt_score'] },
    ],
    validFrom: '2026-01-01T00:00:00Z',
    validTo: '2027-12-31T00:00:00Z',
    ...over,
  });

  /** Drafted by BISP's maker, signed by BISP's checker and PSPA's officer: returns its id and the key shown once. */
  const inForce = async (over: Record<string, unknown> = {}) => {
    const drafted = await call(bisp.maker, 'POST', '/api/agreements', agreementBody(over));
    expect(drafted.status, drafted.text).toBe(201);
    const id = drafted.json.id as string;
    const first = await call(bisp.checker, 'POST', `/api/agreements/${id}/sign`, {});
    expect(first.status, first.text).toBe(200);
    expect(first.json.linkKey).toBeUndefined();
    const second = await call(pspa, 'POST', `/api/agreements/${id}/sign`, {});
    expect(second.status, second.text).toBe(200);
    expect(second.json.agreement.state).toBe('in_force');
    return { id, key: Buffer.from(second.json.linkKey as string, 'base64url') };
  };

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db, { clock: () => now });
    await seedAreas(db.db);
    regs = await importTwoRegistries(db, { households: 600, share: 0.6, extra: 80 });
    bisp = {
      maker: await officer(db.db, 'BISP', 'PK'),
      checker: await officer(db.db, 'BISP', 'PK'),
      federal: await officer(db.db, 'BISP', 'PK'),
      auditor: await officer(db.db, 'BISP', 'PK', 'auditor'),
    };
    pspa = await officer(db.db, 'PSPA', 'PK6');
    sspa = await officer(db.db, 'SSPA', 'PK7');
    other = await officer(db.db, 'KPSPA', 'PK5');
  }, 120_000);
  afterAll(() => db.drop());

  it('refuses an agreement whose pseudonymous share lists an identity field, naming the field', async () => {
    const bad = await call(bisp.maker, 'POST', '/api/agreements', agreementBody({ shares: [{ source: 'NSER', from: 'BISP', to: 'PSPA', fields: ['district', 'cnic'] }] }));
    expect(bad.status).toBe(400);
    expect(bad.json.errors).toContainEqual({ field: 'shares.0.fields.1', message: expect.stringContaining('cnic identifies a person') });
    const notParty = await call(other, 'POST', '/api/agreements', agreementBody());
    expect(notParty.status).toBe(403);
  });

  it('takes two signatures, one per party, never the drafter, and shows the key once to the second signer', async () => {
    const drafted = await call(bisp.maker, 'POST', '/api/agreements', agreementBody());
    const id = drafted.json.id;
    expect(drafted.json.state).toBe('draft');
    expect((await call(bisp.maker, 'GET', `/api/agreements/${id}/export?source=NSER`)).status).toBe(409);
    expect((await call(bisp.maker, 'POST', `/api/agreements/${id}/sign`, {})).status).toBe(403);
    expect((await call(bisp.checker, 'POST', `/api/agreements/${id}/sign`, {})).status).toBe(200);
    expect((await call(bisp.federal, 'POST', `/api/agreements/${id}/sign`, {})).status).toBe(409);
    expect((await call(other, 'POST', `/api/agreements/${id}/sign`, {})).status).toBe(404);
    const second = await call(pspa, 'POST', `/api/agreements/${id}/sign`, {});
    expect(second.json.linkKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(second.json.agreement.signatures.map((s: { party: string }) => s.party)).toEqual(['BISP', 'PSPA']);
    const read = await call(bisp.auditor, 'GET', `/api/agreements/${id}`);
    expect(read.json.state).toBe('in_force');
    expect(read.text).not.toContain(second.json.linkKey);
    const listed = await call(pspa, 'GET', '/api/agreements');
    expect(listed.json.items.map((a: { id: string }) => a.id)).toContain(id);
    expect(listed.text).not.toContain(second.json.linkKey);
    expect((await call(sspa, 'GET', `/api/agreements/${id}`)).status).toBe(404);
  });

  it('exports the agreed slice: linkage keys both sides compute, only the agreed fields, the jurisdiction only, with a manifest', async () => {
    const { id, key } = await inForce();
    const res = await call(pspa, 'GET', `/api/agreements/${id}/export?source=NSER&format=csv`);
    expect(res.status, res.text).toBe(200);
    const lines = res.text.trimEnd().split('\n');
    expect(lines[0]).toBe(['linkage_key', ...FIELDS].join(','));
    const punjab = regs.nser.filter((h) => h.areaCode.startsWith('PK6'));
    expect(lines.length - 1).toBe(punjab.length);
    // PSPA holds the same people's CNICs: it computes the same keys without any CNIC crossing.
    const byKey = new Map(lines.slice(1).map((l) => [l.split(',')[0]!, l.split(',')]));
    for (const h of punjab.slice(0, 50)) {
      const row = byKey.get(linkageKey(key, h.cnic));
      expect(row, h.householdId).toBeDefined();
      expect(row![1]).toBe(h.householdId);
      expect(row![3]).toBe(PUNJAB_DISTRICT.tehsil);
      expect(Number(row![5])).toBeCloseTo(h.pmtScore, 1);
    }
    expect(res.headers.get('x-madad-sha256')).toBe(createHash('sha256').update(res.text).digest('hex'));
    // PostgreSQL writes the lines itself (pgcrypto's hmac, COPY); the same bytes as the page-by-page writer.
    const [row] = await db.db.select().from(agreements).where(eq(agreements.id, id));
    let paged = '';
    for await (const piece of sliceText(db.db, row!, { source: 'NSER', from: 'BISP', to: 'PSPA', fields: FIELDS as Share['fields'] }, 'csv')) paged += piece;
    expect(paged).toBe(res.text);
    let pagedJson = '';
    for await (const piece of sliceText(db.db, row!, { source: 'NSER', from: 'BISP', to: 'PSPA', fields: FIELDS as Share['fields'] }, 'ndjson')) pagedJson += piece;
    const manifest = await call(pspa, 'GET', `/api/exchange/exports/${res.headers.get('x-madad-export-id')}`);
    expect(manifest.json).toMatchObject({ agreement: id, source: 'NSER', recipient: 'PSPA', rows: punjab.length, sha256: res.headers.get('x-madad-sha256'), format: 'csv' });
    const again = await call(pspa, 'GET', `/api/exchange/exports/${manifest.json.export}/file`);
    expect(again.text).toBe(res.text);
    const ndjson = await call(bisp.federal, 'GET', `/api/agreements/${id}/export?source=NSER&format=ndjson`);
    const first = JSON.parse(ndjson.text.split('\n')[0]!);
    expect(ndjson.text).toBe(pagedJson);
    expect(Object.keys(first)).toEqual(['linkage_key', ...FIELDS]);
    expect(typeof first.pmt_score).toBe('number');
    const [audits] = await queryRows<{ made: number; downloads: number }>(
      db.db,
      sql`select count(*) filter (where action = 'exchange.exported')::int as made, count(*) filter (where action = 'exchange.export_downloaded')::int as downloads from audit_log where subject like 'export:%'`,
    );
    expect(audits!.made).toBeGreaterThanOrEqual(2);
    expect(audits!.downloads).toBeGreaterThanOrEqual(3);
    // A field outside the whitelist is asked for by naming a source the agreement does not share.
    expect((await call(pspa, 'GET', `/api/agreements/${id}/export?source=BISPX`)).status).toBe(400);
  });

  it('gives each agreement its own keys: one agreement\u2019s keys link nothing in another', async () => {
    const one = await inForce();
    const two = await inForce();
    const keysOf = async (id: string) => new Set((await call(pspa, 'GET', `/api/agreements/${id}/export?source=NSER`)).text.split('\n').slice(1, -1).map((l) => l.split(',')[0]));
    const a = await keysOf(one.id);
    const b = await keysOf(two.id);
    expect(a.size).toBeGreaterThan(100);
    expect([...a].filter((k) => b.has(k))).toEqual([]);
    // A payment list keyed under the first agreement, sent under the second, matches no household.
    const h = regs.nser.find((x) => x.areaCode.startsWith('PK6'))!;
    const event = await makeEvent(db.db, { areas: [PUNJAB_DISTRICT.tehsil], status: 'draft', now });
    const list = `agreement,linkage_key,incident,purpose,programme,amount_pkr,paid_at,reference\n${two.id},${linkageKey(one.key, h.cnic)},event:${event.id},flood_relief,PSPA Relief,10000,2026-08-20T10:00:00+05:00,R-1\n`;
    const sent = await call(pspa, 'POST', `/api/agreements/${two.id}/payments`, list, 'text/csv');
    expect(sent.json).toMatchObject({ rows: 1, matched: 0, unmatched: 1, held: 0 });
  });

  it('expired and revoked agreements stop every exchange at once; kept exports expire and are purged', async () => {
    const { id } = await inForce();
    const made = await call(pspa, 'GET', `/api/agreements/${id}/export?source=NSER`);
    const exportId = made.headers.get('x-madad-export-id')!;
    now = new Date(NOW.getTime() + 73 * 3600_000);
    try {
      const late = await call(pspa, 'GET', `/api/exchange/exports/${exportId}/file`);
      expect(late.status).toBe(409);
      expect(late.json.detail).toContain('expired');
      await call(pspa, 'GET', `/api/agreements/${id}/export?source=NSER`); // any export purges what expired
      const left = await db.db.select().from(exchangeExportChunks).where(eq(exchangeExportChunks.exportId, exportId));
      expect(left).toEqual([]);
    } finally {
      now = NOW;
    }
    const fresh = await call(pspa, 'GET', `/api/agreements/${id}/export?source=NSER`);
    const revoked = await call(bisp.federal, 'POST', `/api/agreements/${id}/revoke`, { reason: 'the province asked to stop' });
    expect(revoked.json.state).toBe('revoked');
    expect((await call(pspa, 'GET', `/api/agreements/${id}/export?source=NSER`)).status).toBe(409);
    expect((await call(pspa, 'GET', `/api/exchange/exports/${fresh.headers.get('x-madad-export-id')}/file`)).status).toBe(409);
    const late = `agreement,linkage_key,incident,purpose,programme,amount_pkr,paid_at,reference\n${id},${'a'.repeat(43)},event:${crypto.randomUUID()},flood_relief,PSPA Relief,100,2026-08-20T10:00:00+05:00,R-9\n`;
    expect((await call(pspa, 'POST', `/api/agreements/${id}/payments`, late, 'text/csv')).status).toBe(409);
    const expired = await inForce({ validFrom: '2026-01-01T00:00:00Z', validTo: '2026-08-27T00:00:00Z' });
    now = new Date('2026-08-28T00:00:00Z');
    try {
      const r = await call(pspa, 'GET', `/api/agreements/${expired.id}/export?source=NSER`);
      expect(r.status).toBe(409);
      expect(r.json.detail).toContain('expired');
    } finally {
      now = NOW;
    }
  });

  it('reports the overlap of NSER and PSER by district and tehsil, with pairs more than 5 km apart for review', async () => {
    const res = await call(bisp.federal, 'GET', '/api/registry/overlap?sources=NSER,PSER&area=PK6');
    expect(res.status, res.text).toBe(200);
    const e = regs.expected;
    expect(e.both).toBeGreaterThan(50);
    expect(res.json.totals).toMatchObject({ both: e.both, onlyA: e.onlyNser, onlyB: e.onlyPser, farApart: e.farApart, pmtDiffer: e.pmtDiffer });
    expect(res.json.areas).toEqual([expect.objectContaining({ district: PUNJAB_DISTRICT.code, tehsil: PUNJAB_DISTRICT.tehsil, both: e.both })]);
    expect(res.json.far).toHaveLength(e.farApart);
    expect(res.json.far[0]).toMatchObject({ a: expect.stringMatching(/^NSER-/), b: expect.stringMatching(/^PSER-/), districtA: PUNJAB_DISTRICT.code });
    expect(res.json.far.every((f: { km: number }) => f.km > 5)).toBe(true);
    expect((await call(pspa, 'GET', '/api/registry/overlap?sources=NSER,PSER&area=PK7')).status).toBe(404);
    expect((await call(pspa, 'GET', '/api/registry/overlap?sources=NSER&area=PK6')).status).toBe(400);
  });

  it('stages a provincial change set as a field-by-field diff; a federal officer merges or refuses each household, and merged fields keep their source', async () => {
    const { id, key } = await inForce();
    const punjab = regs.nser.filter((h) => h.areaCode.startsWith('PK6'));
    const [h1, h2, h3] = punjab;
    const sindh = regs.nser.find((h) => h.areaCode.startsWith('PK7'))!;
    const head = 'agreement,linkage_key,household_size,pmt_score,female_headed';
    // Bad: a household outside the jurisdiction, a wrong key, a value out of range, a column outside the whitelist.
    const bad = [head, `${id},${linkageKey(key, sindh.cnic)},4,,`, `${id},not-a-key,,,`, `${id},${linkageKey(key, h1!.cnic)},,140,`].join('\n');
    const refused = await call(pspa, 'POST', `/api/agreements/${id}/change-sets?source=NSER`, bad, 'text/csv');
    expect(refused.status).toBe(400);
    expect(refused.json.errors).toEqual(
      expect.arrayContaining([
        { field: 'row 3.linkage_key', message: expect.stringContaining('expected 43 base64url') },
        { field: 'row 4.pmt_score', message: expect.stringContaining('0 to 100') },
      ]),
    );
    const outside = await call(pspa, 'POST', `/api/agreements/${id}/change-sets?source=NSER`, [head, `${id},${linkageKey(key, sindh.cnic)},4,,`].join('\n'), 'text/csv');
    expect(outside.json.errors).toEqual([{ field: 'row 2.linkage_key', message: expect.stringContaining('outside the agreement\u2019s jurisdiction') }]);
    const notAgreed = await call(pspa, 'POST', `/api/agreements/${id}/change-sets?source=NSER`, `agreement,linkage_key,children_under5\n${id},${linkageKey(key, h1!.cnic)},1\n`, 'text/csv');
    expect(notAgreed.json.errors).toEqual([{ field: 'row 1.children_under5', message: expect.stringContaining('not a column') }]);
    const otherAgreement = await call(pspa, 'POST', `/api/agreements/${id}/change-sets?source=NSER`, `${head}\n${crypto.randomUUID()},${linkageKey(key, h1!.cnic)},3,,\n`, 'text/csv');
    expect(otherAgreement.json.errors[0]).toMatchObject({ field: 'row 2.agreement', message: expect.stringContaining('belongs to agreement') });
    const [before] = await db.db.select().from(households).where(eq(households.householdId, h1!.householdId));

    const good = [head, `${id},${linkageKey(key, h1!.cnic)},${h1!.householdSize + 1},12.5,`, `${id},${linkageKey(key, h2!.cnic)},,${h2!.pmtScore},1`, `${id},${linkageKey(key, h3!.cnic)},${h3!.householdSize},${h3!.pmtScore},`].join('\n');
    const staged = await call(pspa, 'POST', `/api/agreements/${id}/change-sets?source=NSER`, good, 'text/csv');
    expect(staged.json).toMatchObject({ rows: 3, staged: 2, unchanged: 1, already: false });
    expect((await call(pspa, 'POST', `/api/agreements/${id}/change-sets?source=NSER`, good, 'text/csv')).json.already).toBe(true);
    const shown = await call(bisp.federal, 'GET', `/api/change-sets/${staged.json.changeSetId}`);
    expect(shown.json.rows).toEqual([
      expect.objectContaining({ row: 2, householdId: h1!.householdId, changes: { household_size: { before: before!.size, after: before!.size + 1 }, pmt_score: { before: h1!.pmtScore, after: 12.5 } }, decision: null }),
      expect.objectContaining({ row: 3, householdId: h2!.householdId, changes: { female_headed: { before: h2!.flags.femaleHeaded, after: true } } }),
    ]);
    // PSPA sent it; only a federal officer of BISP, which keeps NSER, decides.
    expect((await call(pspa, 'POST', `/api/change-sets/${staged.json.changeSetId}/decisions`, { decisions: [{ row: 2, decision: 'merge' }] })).status).toBe(403);
    const decided = await call(bisp.federal, 'POST', `/api/change-sets/${staged.json.changeSetId}/decisions`, {
      decisions: [
        { row: 2, decision: 'merge' },
        { row: 3, decision: 'refuse', reason: 'the survey team could not confirm' },
      ],
    });
    expect(decided.json).toEqual({ merged: 1, refused: 1, waiting: 0 });
    const [after] = await db.db.select().from(households).where(eq(households.householdId, h1!.householdId));
    expect(after!.size).toBe(before!.size + 1);
    expect(after!.pmt).toBeCloseTo(12.5);
    const sources = await db.db.select().from(householdFieldSources).where(eq(householdFieldSources.household, after!.id));
    expect(sources.map((s) => [s.field, s.source]).sort()).toEqual([
      ['household_size', `PSPA (agreement ${id})`],
      ['pmt_score', `PSPA (agreement ${id})`],
    ]);
    const [untouched] = await db.db.select().from(households).where(eq(households.householdId, h2!.householdId));
    expect(untouched!.femaleHeaded).toBe(h2!.flags.femaleHeaded);
    expect((await call(bisp.federal, 'POST', `/api/change-sets/${staged.json.changeSetId}/decisions`, { decisions: [{ row: 2, decision: 'merge' }] })).status).toBe(400);
  });

  it('loads the other party\u2019s registry as its own source under an identified agreement; a row of another source or a column not shared refuses the file', async () => {
    const all = ['household_id', 'cnic', 'head_name', 'lat', 'lon', 'household_size', 'pmt_score', 'female_headed', 'has_disabled', 'has_elderly', 'children_under5'];
    const pseudonymous = await inForce();
    const identified = await inForce({ linkage: 'identified', shares: [{ source: 'PSER', from: 'PSPA', to: 'BISP', fields: all }] });
    const ctx = (await import('../../server/context.ts')).systemCtx(db.db, 'exchange-test', now);
    const rows = [household('PSER-NEW-1', 31.1, 72.1, 22, 4, 'PSER'), household('PSER-NEW-2', 31.12, 72.12, 35, 6, 'PSER')];
    const file = (list: Record<string, string>[]) => () => Readable.from([Buffer.from(registryCsv(list))]);
    const { importSharedRegistry } = await import('../../server/exchange/registry-import.ts');
    await expect(importSharedRegistry(ctx, { agreementId: pseudonymous.id, source: 'PSER', database: db, file: file(rows), name: 'pser.csv' })).rejects.toThrow(/pseudonymous/);
    const refused = await importSharedRegistry(ctx, { agreementId: identified.id, source: 'PSER', database: db, file: file([rows[0]!, { ...rows[1]!, source: 'NSER' }, { ...rows[1]!, household_id: 'PSER-NEW-3', phone: '03001234567' }]), name: 'pser.csv' }).catch((e) => e);
    expect(refused.fields).toEqual([
      { field: 'row 3.source', message: expect.stringContaining('the agreement shares PSER') },
      { field: 'row 4.phone', message: expect.stringContaining('not shared') },
    ]);
    const [none] = await queryRows<{ n: number }>(db.db, sql`select count(*)::int as n from households where household_id like 'PSER-NEW-%'`);
    expect(none!.n).toBe(0);
    const report = await importSharedRegistry(ctx, { agreementId: identified.id, source: 'PSER', database: db, file: file(rows), name: 'pser.csv' });
    expect(report).toMatchObject({ rows: 2, added: 2, refused: 0 });
  });

  it('never lets a CNIC, name or phone of the registries leave under a pseudonymous agreement: every byte of every response', () => {
    const all = seen.join('\n');
    expect(all).toContain('linkage_key,household_id');
    expect(all.length).toBeGreaterThan(10_000);
    const leaks: string[] = [];
    for (const h of [...regs.nser, ...regs.pser]) {
      const dashed = `${h.cnic.slice(0, 5)}-${h.cnic.slice(5, 12)}-${h.cnic.slice(12)}`;
      for (const v of [h.cnic, dashed, h.headName, h.phone]) if (v && all.includes(v)) leaks.push(`${h.householdId}: ${v === h.headName ? 'name' : v === h.phone ? 'phone' : 'cnic'}`);
    }
    expect(leaks).toEqual([]);
  });
});

describe.each(drivers)('payments made outside Madad, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db, { clock: () => NOW });
    await seedAreas(db.db);
    await seedFloodRegistry(db, NOW);
    await loadFloodRules(db.db);
  }, 120_000);
  afterAll(() => db.drop());

  it('loads a provincial payment list into the ledger as paid by that programme: the federal batch nets it off; bad rows refuse the file whole', async () => {
    const bisp = [await officer(db.db, 'BISP', 'PK'), await officer(db.db, 'BISP', 'PK')];
    const sspa = await officer(db.db, 'SSPA', 'PK7');
    const send = async (who: { authorization: string }, method: string, path: string, body?: unknown, type = 'application/json') => {
      const res = await app.request(path, { method, headers: { authorization: who.authorization, 'content-type': type }, body: typeof body === 'string' ? body : JSON.stringify(body) });
      return { status: res.status, json: (await res.json()) as any };
    };
    const drafted = await send(bisp[0]!, 'POST', '/api/agreements', {
      title: 'BISP and SSPA: dedup of flood top-ups in Sindh',
      partyA: 'BISP',
      partyB: 'SSPA',
      purpose: 'dedup',
      jurisdiction: 'PK7',
      linkage: 'pseudonymous',
      shares: [{ source: 'NSER', from: 'BISP', to: 'SSPA', fields: ['district', 'tehsil'] }],
      validFrom: '2026-01-01T00:00:00Z',
      validTo: '2027-01-01T00:00:00Z',
    });
    const id = drafted.json.id;
    await send(bisp[1]!, 'POST', `/api/agreements/${id}/sign`, {});
    const key = Buffer.from((await send(sspa, 'POST', `/api/agreements/${id}/sign`, {})).json.linkKey, 'base64url');
    const event = await makeEvent(db.db, { areas: [SINDH_DISTRICT.tehsil], status: 'draft', now: NOW });
    const head = 'agreement,linkage_key,incident,purpose,programme,amount_pkr,paid_at,reference';
    const row = (n: number, amount: number, ref: string, over: Partial<Record<string, string>> = {}) =>
      [over.agreement ?? id, over.key ?? linkageKey(key, cnicOf(n)), over.incident ?? `event:${event.id}`, 'flood_relief', 'SSPA Flood Relief', over.amount ?? String(amount), over.paidAt ?? '2026-08-25T12:00:00+05:00', ref].join(',');

    const bad = await send(sspa, 'POST', `/api/agreements/${id}/payments`, [head, row(1, 25000, 'A1', { key: 'abc' }), row(2, 5000, 'A2', { amount: '5000.5' }), row(3, 100, 'A3', { agreement: crypto.randomUUID() }), row(4, 100, 'A4', { paidAt: 'yesterday' })].join('\n'), 'text/csv');
    expect(bad.status).toBe(400);
    expect(bad.json.errors.map((e: { field: string }) => e.field)).toEqual(['row 2.linkage_key', 'row 3.amount_pkr', 'row 4.agreement', 'row 5.paid_at']);
    expect(await db.db.select().from(reservations)).toEqual([]);

    // Household 1 (PMT 10) got the whole federal amount from SSPA; household 2 (PMT 20) part of it.
    const list = [head, row(1, 25000, 'SSPA-001'), row(2, 10000, 'SSPA-002')].join('\n') + '\n';
    const loaded = await send(sspa, 'POST', `/api/agreements/${id}/payments`, list, 'text/csv');
    expect(loaded.json).toMatchObject({ rows: 2, matched: 2, unmatched: 0, held: 2, heldPkr: 35000, already: false });
    expect((await send(sspa, 'POST', `/api/agreements/${id}/payments`, list, 'text/csv')).json.already).toBe(true);
    const held = await db.db.select().from(reservations).where(eq(reservations.incident, `event:${event.id}`));
    expect(held.map((r) => r.reservedPkr).sort()).toEqual([10000, 25000]);

    await declareEvent(setupCtx(db.db, NOW), event.id);
    await settle(db.db, NOW);
    const [federal] = await db.db.select().from(batches).where(and(eq(batches.incident, `event:${event.id}`), eq(batches.programme, 'BISP')));
    expect(federal, 'the federal batch was built').toBeDefined();
    const lines = await db.db.select().from(batchLines).where(eq(batchLines.batchId, federal!.id));
    const line = (hh: string) => lines.find((l) => l.householdId === hh)!;
    expect(line('S1')).toMatchObject({ state: 'dropped', amountPkr: 0 });
    expect(line('S1').netText).toContain('SSPA Flood Relief');
    expect(line('S2')).toMatchObject({ state: 'live', amountPkr: 15000 });
    expect(line('S3')).toMatchObject({ state: 'live', amountPkr: 25000 });
  });
});
