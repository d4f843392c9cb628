// `npm run bench`: every benchmark in turn, each printing its own table.
const benches = ['./spatial.ts', './alerts-ingest.ts'];
for (const bench of benches) {
  try {
    await import(bench);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') console.log(`(${bench} not present)`);
    else throw err;
  }
}
export {};
