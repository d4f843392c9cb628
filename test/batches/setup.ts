import type { Database } from '../../server/db/client.ts';
import type { Db } from '../../server/db/client.ts';
import { drain } from '../harness/app.ts';
import { makeEvent, makeHousehold, makeRule } from '../harness/factories.ts';
import { SINDH_DISTRICT, PUNJAB_DISTRICT, seedAreas } from '../rules/setup.ts';

export { SINDH_DISTRICT, PUNJAB_DISTRICT, seedAreas };

/** When the tests' events are declared: inside both flood rules' validity. */
export const NOW = new Date('2026-08-26T06:00:00Z');

/** A CNIC of 13 digits, unique by `n` (the same `n` is the same person in any registry). */
export const cnicOf = (n: number) => `42101${String(n).padStart(7, '0')}1`;

/**
 * Ten Sindh households in tehsil PK79901, PMT 10, 20, … 100, each with its own CNIC; the ones with PMT 20,
 * 40, 70 and 90 enrolled in Kafaalat; channels alternate bank and mobile wallet. Under the federal flood rule (poorest
 * 60 % per tehsil: PMT 10..60, PKR 25,000) and the Sindh rule (Kafaalat, PKR 10,000), households 20 and 40 are
 * in both. Four Punjab households (PMT 10..40) in PK69901.
 */
export async function seedFloodRegistry(database: Database, now = NOW) {
  const sindh = Array.from({ length: 10 }, (_, i) => ({
    id: `S${i + 1}`,
    lat: 25.02 + i * 0.015,
    lon: 68.02 + i * 0.015,
    pmt: (i + 1) * 10,
    columns: {
      cnic: cnicOf(i + 1),
      enrolments: [2, 4, 7, 9].includes(i + 1) ? 'kafaalat' : '',
      payment_channel: i % 2 ? 'mobile_wallet' : 'bank',
      payment_account: i % 2 ? `0300${String(1000000 + i)}` : `PK36SCBL00000011234567${String(10 + i)}`,
    },
  }));
  const punjab = Array.from({ length: 4 }, (_, i) => ({
    id: `P${i + 1}`,
    lat: 31.02 + i * 0.03,
    lon: 72.02 + i * 0.03,
    pmt: (i + 1) * 10,
    columns: { cnic: cnicOf(100 + i), payment_channel: 'bank', payment_account: `PK00PUNJ${i}` },
  }));
  await makeHousehold(database, [...sindh, ...punjab], { now });
}

/**
 * The federal flood rule (BISP, the 2022 precedent without its end date, so it is in force now) and the Sindh
 * Kafaalat top-up, under ids of this test. Returns their ids.
 */
export async function loadFloodRules(db: Db, now = NOW) {
  const federal = await makeRule(db, { from: 'flood-relief-2022', change: (y) => y.replace(/^valid_to: .*$/m, ''), now });
  const sindh = await makeRule(db, { from: 'sindh-flood-kafaalat', now });
  return { federal: federal.id, sindh: sindh.id };
}

/** Delivers the outbox until nothing is left (an event's evaluation writes `activation.fired`, whose build follows). */
export async function settle(db: Db, now = NOW): Promise<number> {
  let total = 0;
  for (let i = 0; i < 10; i++) {
    const { handled, failed } = await drain(db, new Date(now.getTime() + 60_000));
    if (failed) throw new Error(`settle: ${failed} outbox rows failed`);
    total += handled;
    if (handled === 0) return total;
  }
  return total;
}

/** Declares a flood over the given tehsils (the Sindh one by default) and lets the batches be built. */
export async function declareFlood(db: Db, areas: string[] = [SINDH_DISTRICT.tehsil], now = NOW) {
  const event = await makeEvent(db, { areas, now });
  await settle(db, now);
  return event;
}
