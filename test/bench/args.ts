/** `--name value` from the command line, as a number, or the fallback: benchmarks are seeded and sized by these. */
export function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i > 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value)) throw new Error(`--${name}: expected a number, got ${JSON.stringify(process.argv[i + 1])}`);
  return value;
}
