// `npm run bench`: every benchmark in turn, each printing its own table.
await import('./import.ts');
await import('./spatial.ts');
await import('./alerts-ingest.ts');
await import('./hostile-areas.ts');
await import('./http.ts');
await import('./start.ts');
await import('./batch.ts');
await import('./payments.ts');
await import('./exchange.ts');
export {};
