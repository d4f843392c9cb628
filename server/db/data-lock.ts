import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

/** The lock file's name inside a PGlite data folder (PGlite itself keeps no such lock). */
export const LOCK_FILE = 'madad.lock';

/** What the lock file holds: who holds the folder, and enough to tell it from a later process given its pid. */
interface Holder {
  pid: number;
  host: string;
  /** `/proc/<pid>/stat`'s start time (clock ticks since boot) where there is a /proc: a reused pid has another. */
  procStart?: string;
  startedAt: string;
  command: string;
}

/** Another live process holds the data folder. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: Holder,
  ) {
    const where = holder.host === hostname() ? '' : ` on host ${holder.host}`;
    super(
      `a Madad process (pid ${holder.pid}${where}, "${holder.command}", since ${holder.startedAt}) holds the PGlite data folder ${dataDir}, ` +
        'and PGlite serves one process only: what a second one wrote would be lost. Stop it, or run this against the running ' +
        'server over its API, or use a PostgreSQL database (DATABASE_URL) that both can share.' +
        (where ? ` If that process no longer runs, delete ${path.join(dataDir, LOCK_FILE)}.` : ''),
    );
  }
}

/** Folders this process holds: a second open of one of them in this process is refused too. */
const held = new Set<string>();

function procStart(pid: number): { start: string; zombie: boolean } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may itself hold spaces: state is field 3,
    // starttime field 22 (proc(5)).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { start: fields[19]!, zombie: fields[0] === 'Z' || fields[0] === 'X' };
  } catch {
    return undefined;
  }
}

/** Whether the process a lock file names still runs. A holder on another host cannot be checked: it counts as live. */
function alive(holder: Holder): boolean {
  if (holder.host !== hostname()) return true;
  if (holder.pid === process.pid) return false; // not held by us (checked first), so an earlier life of this pid
  const proc = procStart(holder.pid);
  if (proc) return !proc.zombie && (holder.procStart === undefined || proc.start === holder.procStart);
  if (process.platform === 'linux') return false; // /proc has no such pid
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): Holder | undefined {
  try {
    const holder = JSON.parse(readFileSync(file, 'utf8')) as Holder;
    return Number.isInteger(holder.pid) && typeof holder.host === 'string' ? holder : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the data folder for this process: creates its lock file with this process's pid and start time, or
 * throws DataDirLockedError when a live process holds it. A lock left by a process that is gone (killed, or
 * its machine restarted) is taken over, with `warn` told so. The lock is given back by `release`, or at exit.
 */
export function lockDataDir(dataDir: string, warn: (message: string) => void): { release(): void } {
  const dir = path.resolve(dataDir);
  const file = path.join(dir, LOCK_FILE);
  const me: Holder = {
    pid: process.pid,
    host: hostname(),
    procStart: procStart(process.pid)?.start,
    startedAt: new Date(Date.now() - process.uptime() * 1000).toISOString(),
    command: process.argv.slice(2).join(' ') || process.argv[1] || 'node',
  };
  if (held.has(dir)) throw new DataDirLockedError(dir, me);
  for (let tries = 0; ; tries++) {
    try {
      // O_EXCL: of two processes creating it at once, one fails.
      const fd = openSync(file, 'wx');
      writeSync(fd, `${JSON.stringify(me)}\n`);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 0) {
        const holder = readHolder(file);
        if (holder) throw new DataDirLockedError(dir, holder);
        throw error;
      }
      const holder = readHolder(file);
      if (holder && alive(holder)) throw new DataDirLockedError(dir, holder);
      warn(`taking over ${file}: ${holder ? `its holder (pid ${holder.pid}, "${holder.command}") no longer runs` : 'it could not be read'}`);
      unlinkSync(file);
    }
  }
  held.add(dir);
  const release = () => {
    process.off('exit', release);
    if (!held.delete(dir)) return;
    // Only our own lock: never one another process took over meanwhile.
    if (readHolder(file)?.pid === process.pid) unlinkSync(file);
  };
  process.on('exit', release);
  return { release };
}
