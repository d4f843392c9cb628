import { defineConfig } from 'drizzle-kit';

// Migrations are generated from the schema by drizzle-kit, named, committed and never edited.
export default defineConfig({
  dialect: 'postgresql',
  schema: './server/db/schema/index.ts',
  out: './migrations',
});
