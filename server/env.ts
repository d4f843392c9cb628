import { z } from 'zod';

const integer = (min: number, max: number) =>
  z.coerce
    .number({ error: `expected a whole number from ${min} to ${max}` })
    .int(`expected a whole number from ${min} to ${max}`)
    .min(min, `expected a whole number from ${min} to ${max}`)
    .max(max, `expected a whole number from ${min} to ${max}`);

const flag = z
  .enum(['0', '1', 'true', 'false'], { error: 'expected 1, 0, true or false' })
  .transform((v) => v === '1' || v === 'true');

/** Every setting Madad reads from its environment. The README's configuration table mirrors this. */
export const envSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: integer(0, 65535).default(8787),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// or postgresql:// connection URL')
    .optional(),
  MADAD_DATA_DIR: z.string().min(1).default('.madad'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'expected one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  MADAD_BODY_LIMIT: integer(1024, 512 * 1024 * 1024).default(10 * 1024 * 1024),
  MADAD_SHUTDOWN_TIMEOUT_MS: integer(0, 600_000).default(10_000),
  /** Positions an area in a request body may have (exposure, an inline dry-run alert); stored areas are not bounded by it. */
  MADAD_MAX_POLYGON_VERTICES: integer(4, 10_000_000).default(50_000),
  /** How long one area question may run in a spatial worker before it is stopped and refused (503). */
  MADAD_SPATIAL_BUDGET_MS: integer(50, 600_000).default(5000),
  /** Smallest household count shown to roles without identity access; other counts are rounded to it (1: exact). */
  MADAD_MIN_CELL: integer(1, 1000).default(10),
  /**
   * When set, GET /metrics needs `Authorization: Bearer <this>`; unset, it is open, for a scraper on the
   * loopback address the server binds by default (set it before binding HOST to a shared network).
   */
  MADAD_METRICS_TOKEN: z.string().regex(/^\S{16,200}$/, 'expected 16 to 200 characters without spaces').optional(),
  /**
   * Feeds whose host is or resolves to a loopback, link-local or private address are not polled (SSRF):
   * `1` allows every address, a comma-separated list of host names allows those (an internal mirror).
   */
  MADAD_FEEDS_ALLOW_PRIVATE: z
    .string()
    .regex(/^(0|1|true|false|[\w.:[\]-]+(,\s*[\w.:[\]-]+)*)$/, 'expected 1, 0, or a comma-separated list of host names')
    .transform((v): boolean | string[] => (v === '1' || v === 'true' ? true : v === '0' || v === 'false' ? false : v.split(',').map((h) => h.trim().toLowerCase().replace(/^\[|\]$/g, ''))))
    .default(false),
  /**
   * The key of the households' dedup hash (HMAC of the head's CNIC), the same on every server; at least 32
   * characters. Unset, the embedded database keeps one in its data folder; PostgreSQL needs it set.
   */
  MADAD_DEDUP_KEY: z.string().min(32, 'expected at least 32 characters (e.g. `openssl rand -base64 48`)').optional(),
  /** How long an approval step waits before it shows as overdue, in hours. */
  MADAD_APPROVAL_HOURS: integer(1, 24 * 30).default(24),
  /** Where mail to officials goes out (what waits for them), e.g. smtp://mail.example.org:587; unset, nobody is mailed. */
  SMTP_URL: z.string().regex(/^smtps?:\/\//, 'expected an smtp:// or smtps:// URL').optional(),
  /** The sender of that mail. */
  MADAD_MAIL_FROM: z.string().min(3).default('Madad <madad@localhost>'),
  /** The web app's address, put before the links in mail, e.g. https://madad.ndma.gov.pk. */
  MADAD_PUBLIC_URL: z.url().optional(),
  MADAD_DEMO: flag.default(true),
  MADAD_JOBS: flag.default(true),
});

export type Env = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment once; a wrong value names the variable and what is expected. */
export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  const present = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const result = envSchema.safeParse(present);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = issue.path.join('.');
    const got = source[name];
    return `  ${name}: ${issue.message}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`;
  });
  throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
}
