import postgres from 'postgres';
import { importAreas } from '../../server/areas/service.ts';
import { openDatabase, type Database } from '../../server/db/client.ts';
import { systemCtx } from '../../server/context.ts';
import { readTestDistricts, readTestTehsils } from '../harness/gazetteer.ts';

/**
 * A scratch PostgreSQL database for a benchmark (made on DATABASE_URL or TEST_DATABASE_URL's server, dropped
 * by `drop`), migrated, with the fixtures' districts and tehsils (whose 2023 population shapes the
 * synthetic registry) in the gazetteer.
 */
export async function benchDatabase() {
  const adminUrl = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `madad_bench_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database: Database = await openDatabase({ url: url.toString(), max: 4 });
  const drop = async () => {
    await database.close();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  };
  try {
    await database.migrate();
    const { districts } = readTestDistricts();
    const tehsils = readTestTehsils().areas;
    const ctx = systemCtx(database.db, 'bench', new Date());
    await importAreas(ctx, { records: districts, validFrom: '2022-01-01' });
    await importAreas(ctx, { records: tehsils, validFrom: '2022-01-01' });
    return { database, districts, drop, url: url.toString() };
  } catch (error) {
    await drop();
    throw error;
  }
}

export const time = async <T>(fn: () => Promise<T> | T): Promise<[T, number]> => {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
};

export const ms = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(0)} ms`);

/** Prints a benchmark's rows as one aligned table under its title. */
export function printTable(title: string, rows: [string, string, string][]): void {
  const widths = [0, 1].map((c) => Math.max(...rows.map((r) => r[c]!.length), 8));
  console.log(`\n${title}\n`);
  for (const r of rows) console.log(`${r[0].padEnd(widths[0]!)}  ${r[1].padEnd(widths[1]!)}  ${r[2]}`);
}
