import { open, unlink } from 'node:fs/promises';

/**
 * Writes `file` through `fill` and syncs it to disk; if writing fails, the file is removed and the error
 * thrown. For files written beside their target (`<target>.partial`) and moved into place by the caller once
 * they are known good, so a half-written file never stands under the target's name.
 */
export async function writeSynced<T>(file: string, flags: 'w' | 'wx', fill: (write: (chunk: string) => Promise<void>) => Promise<T>): Promise<T> {
  const handle = await open(file, flags);
  let out: T;
  try {
    out = await fill(async (chunk) => void (await handle.write(chunk)));
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(file).catch(() => undefined);
    throw err;
  }
  await handle.close();
  return out;
}
