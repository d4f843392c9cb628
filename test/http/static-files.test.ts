import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../harness/app.ts';
import { createTestDatabase, type TestDatabase } from '../harness/databases.ts';

describe('fonts and docs assets', () => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  beforeAll(async () => {
    db = await createTestDatabase('pglite');
    app = testApp(db);
  });
  afterAll(() => db.drop());

  it.each(['/fonts/__proto__', '/fonts/constructor', '/fonts/toString', '/docs/assets/__proto__', '/docs/assets/hasOwnProperty'])('%s is a 404, not a 500', async (path) => {
    const res = await app.request(path);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'not_found' });
  });

  it('a font the app uses is served', async () => {
    const res = await app.request('/fonts/DejaVuSans.ttf');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('font/ttf');
  });
});
