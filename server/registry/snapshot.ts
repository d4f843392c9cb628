import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { CellGroups } from '../../geodata/spatial-engine.ts';
import type { RegistryColumns } from './registry-index.ts';

/**
 * The registry index as one file beside the data: every column and the households' cell groups, as the
 * bytes of their typed arrays, read straight into shared memory at start instead of being rebuilt from
 * the database (45 s at 10 M households) and grouped again (7–10 s). It holds no identity data: the
 * columns are the index's (database id, location, PMT, flags, area codes), never a CNIC, name or phone.
 *
 * The file is named by the registry version an import stamps (server/registry/registry-index.ts
 * `bumpRegistryVersion`), so a file of an older registry is never read for a newer one: a new version
 * loads from the database once and writes its own file, and older files are removed. It is written to a
 * temporary name, flushed and renamed, so a crash leaves the old file or the new one, never half of one;
 * a file whose length does not match its header is ignored and rebuilt.
 */

const MAGIC = 'MADADIX2';
const ALIGN = 8;

type Typed = Float64Array | Float32Array | BigUint64Array | Uint32Array | Uint16Array | Uint8Array;
const KINDS = { Float64Array, Float32Array, BigUint64Array, Uint32Array, Uint16Array, Uint8Array } as const;
type KindName = keyof typeof KINDS;

const COLUMN_NAMES = ['ids', 'lat', 'lon', 'cells', 'pmt', 'size', 'flags', 'enrolmentMask', 'source', 'province', 'district', 'tehsil'] as const;
const GROUP_NAMES = ['cells', 'start', 'order', 'centreLon', 'centreLat', 'radius', 'offsetLon', 'offsetLat'] as const;

interface Header {
  version: string;
  count: number;
  codes: string[];
  sources: string[];
  enrolmentNames: string[];
  arrays: { name: string; kind: KindName; length: number; offset: number }[];
  bytes: number;
}

export interface Snapshot {
  columns: RegistryColumns;
  groups: CellGroups;
}

const fileOf = (dir: string, version: string) => path.join(dir, `registry-index-${version.replace(/[^A-Za-z0-9._-]/g, '_')}.bin`);

/** Writes the snapshot of its version, replacing any older one in `dir`; the writes run off the main thread. */
export async function writeSnapshot(dir: string, { columns, groups }: Snapshot): Promise<string> {
  await mkdir(dir, { recursive: true });
  const arrays: [string, Typed][] = [
    ...COLUMN_NAMES.map((n) => [`columns.${n}`, columns[n]] as [string, Typed]),
    ...GROUP_NAMES.map((n) => [`groups.${n}`, groups[n]] as [string, Typed]),
  ];
  let offset = 0;
  const layout = arrays.map(([name, a]) => {
    const entry = { name, kind: a.constructor.name as KindName, length: a.length, offset };
    offset += Math.ceil(a.byteLength / ALIGN) * ALIGN;
    return entry;
  });
  const header: Header = {
    version: columns.version,
    count: columns.ids.length,
    codes: columns.codes,
    sources: columns.sources,
    enrolmentNames: columns.enrolmentNames,
    arrays: layout,
    bytes: offset,
  };
  const head = Buffer.from(JSON.stringify(header));
  const preamble = Buffer.alloc(16);
  preamble.write(MAGIC, 0, 'latin1');
  preamble.writeUInt32LE(head.length, 8);
  const start = Math.ceil((16 + head.length) / ALIGN) * ALIGN;

  const target = fileOf(dir, columns.version);
  const temporary = `${target}.${process.pid}.tmp`;
  const file = await open(temporary, 'w', 0o600);
  try {
    await file.write(preamble, 0, 16, 0);
    await file.write(head, 0, head.length, 16);
    for (const [k, [, a]] of arrays.entries()) {
      const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      // In pieces: one write moves at most about 2 GB.
      for (let done = 0; done < bytes.length; ) {
        done += (await file.write(bytes, done, Math.min(1 << 26, bytes.length - done), start + layout[k]!.offset + done)).bytesWritten;
      }
    }
    await file.sync();
    await file.close();
  } catch (error) {
    await file.close().catch(() => {});
    await rm(temporary, { force: true });
    throw error;
  }
  await rename(temporary, target);
  for (const name of await readdir(dir)) {
    if (name.startsWith('registry-index-') && path.join(dir, name) !== target) await rm(path.join(dir, name), { force: true });
  }
  return target;
}

/**
 * The snapshot of `version` from `dir`, every array on a SharedArrayBuffer (shared with the spatial
 * workers, not copied), or null when there is none for that version or it is not whole.
 */
export async function readSnapshot(dir: string, version: string): Promise<Snapshot | null> {
  let file;
  try {
    file = await open(fileOf(dir, version), 'r');
  } catch {
    return null;
  }
  try {
    const { size } = await file.stat();
    const preamble = Buffer.alloc(16);
    if ((await file.read(preamble, 0, 16, 0)).bytesRead !== 16 || preamble.toString('latin1', 0, 8) !== MAGIC) return null;
    const headLength = preamble.readUInt32LE(8);
    const head = Buffer.alloc(headLength);
    if ((await file.read(head, 0, headLength, 16)).bytesRead !== headLength) return null;
    const header = JSON.parse(head.toString('utf8')) as Header;
    const start = Math.ceil((16 + headLength) / ALIGN) * ALIGN;
    if (header.version !== version || size !== start + header.bytes) return null;
    const arrays = new Map<string, Typed>();
    for (const entry of header.arrays) {
      const Kind = KINDS[entry.kind] as unknown as new (buffer: SharedArrayBuffer) => Typed;
      const a = new Kind(new SharedArrayBuffer(entry.length * (Kind as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT));
      const bytes = new Uint8Array(a.buffer, 0, a.byteLength);
      for (let done = 0; done < bytes.length; ) {
        const { bytesRead: read } = await file.read(bytes, done, Math.min(1 << 26, bytes.length - done), start + entry.offset + done);
        if (read === 0) return null;
        done += read;
      }
      arrays.set(entry.name, a);
    }
    const get = <T extends Typed>(name: string) => arrays.get(name) as T;
    const columns = {
      version: header.version,
      codes: header.codes,
      sources: header.sources,
      enrolmentNames: header.enrolmentNames,
      ...Object.fromEntries(COLUMN_NAMES.map((n) => [n, get(`columns.${n}`)])),
    } as unknown as RegistryColumns;
    const groups = Object.fromEntries(GROUP_NAMES.map((n) => [n, get(`groups.${n}`)])) as unknown as CellGroups;
    if (columns.ids.length !== header.count || groups.order.length !== header.count) return null;
    return { columns, groups };
  } catch {
    return null;
  } finally {
    await file.close();
  }
}
