/** Shared by this folder's tests: the real samples in ../shared/fixtures, read relative to this file. */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Polygon, MultiPolygon, Position } from 'geojson';
import { parseAlerts } from './index.ts';
import type { MessageResult, NormalizedAlert } from './types.ts';

/** The repo is <work>/main and the fixtures <work>/shared/fixtures; this file is <repo>/server/alerts/parse. */
const FIXTURES = new URL('../../../../shared/fixtures/', import.meta.url);

export function fixtureBytes(dir: string, name: string): Uint8Array {
  return readFileSync(new URL(`${dir}/${name}`, FIXTURES));
}

export function fixtureNames(dir: string): string[] {
  return readdirSync(fileURLToPath(new URL(`${dir}/`, FIXTURES))).sort();
}

export function parseFixture(dir: string, name: string) {
  return parseAlerts(fixtureBytes(dir, name));
}

/** The alert of an accepted message; fails the test with the rejection reason otherwise. */
export function accepted(result: MessageResult | undefined): NormalizedAlert {
  if (!result) throw new Error('no message');
  if (!result.ok) throw new Error(`message rejected: ${result.reason}`);
  return result.alert;
}

/** The only message of a single-message body. */
export function only(dir: string, name: string): NormalizedAlert {
  const outcome = parseFixture(dir, name);
  if (outcome.messages.length !== 1) throw new Error(`expected 1 message, got ${outcome.messages.length}`);
  return accepted(outcome.messages[0]);
}

/** Outer rings of a Polygon or MultiPolygon, for counting polygons and vertices. */
export function rings(geometry: NormalizedAlert['area']['geometry']): Position[][] {
  if (geometry?.type === 'Polygon') return [(geometry as Polygon).coordinates[0]!];
  if (geometry?.type === 'MultiPolygon') return (geometry as MultiPolygon).coordinates.map((p) => p[0]!);
  return [];
}
