import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../harness/cli.ts';
import { fixture } from '../harness/fixtures.ts';
import { FeedServer } from './feed-server.ts';

describe('madad feeds', () => {
  const publisher = new FeedServer();
  let dir: string;
  beforeAll(async () => {
    await publisher.start();
    dir = mkdtempSync(path.join(tmpdir(), 'madad-feeds-cli-'));
  });
  afterAll(async () => {
    await publisher.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  // The publisher is on 127.0.0.1, which feeds may reach only when allowed.
  const madad = (...args: string[]) => runCli(args, { MADAD_DATA_DIR: dir, DATABASE_URL: undefined, MADAD_FEEDS_ALLOW_PRIVATE: '1' });

  it('adds a feed, polls it once now, lists its status, and has nothing due right after', async () => {
    const url = publisher.serve('/gdacs.xml', { body: fixture('gdacs/gdacs-rss-fixture-small_2019-12-30.xml'), etag: '"v1"' });
    const added = await madad('feeds', 'add', url, '--format', 'gdacs-rss', '--every', '5m');
    expect(added.stderr).toBe('');
    expect(added.stdout).toContain(`Added feed ${url} (gdacs-rss, every 5m, as gdacs.org)`);

    const polled = await madad('feeds', 'poll');
    expect(polled.code).toBe(0);
    expect(polled.stdout).toContain(`${url}: 4 created, 0 updated, 0 unchanged, 0 rejected; next poll `);

    const listed = await madad('feeds', 'list');
    expect(listed.code).toBe(0);
    const row = listed.stdout.split('\n').find((l) => l.startsWith(url))!;
    expect(row).toMatch(/gdacs-rss\s+5m\s+gdacs\.org\s+ok\s+\S+Z\s+4\s+\S+Z/);

    expect((await madad('feeds', 'poll')).stdout).toBe('No feed is due.\n');
    expect(publisher.requests('/gdacs.xml')).toHaveLength(1);
  });

  it('refuses a feed URL that is not http or https, and an interval under 30 s', async () => {
    const res = await madad('feeds', 'add', 'file:///etc/passwd', '--format', 'cap-rss', '--every', '10s');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('URL: expected an http:// or https:// URL');
    expect(res.stderr).toContain('--every: expected at least 30s');
  });

  it('takes the senders a CAP feed publishes as, and refuses a CAP feed without them', async () => {
    const missing = await madad('feeds', 'add', 'https://example.org/pmd.xml', '--format', 'cap-rss');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--senders: expected the senders a cap-rss feed publishes as');
    const added = await madad('feeds', 'add', 'https://example.org/pmd.xml', '--format', 'cap-rss', '--senders', 'ffd@pmd.gov.pk, pmd.gov.pk');
    expect(added.stdout).toContain('(cap-rss, every 5m, as ffd@pmd.gov.pk, pmd.gov.pk)');
  });

  it('exits 1 and names the error when a poll fails', async () => {
    const url = publisher.serve('/down.xml', { status: 500 });
    expect((await madad('feeds', 'add', url, '--format', 'cap-rss', '--senders', 'pmd.gov.pk')).code).toBe(0);
    const res = await madad('feeds', 'poll');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`${url}: failed: HTTP 500 Internal Server Error; next poll `);
  });
});
