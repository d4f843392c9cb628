import type { Command } from 'commander';
import type { z } from 'zod';
import { ROLES, roleSchema } from '../access/roles.ts';
import { jurisdictionSchema } from '../http/schemas.ts';
import { randomToken } from '../access/secrets.ts';
import { sendersSchema, splitSenders } from '../access/senders.ts';
import { verifyAudit } from '../audit/service.ts';
import { createToken, revokeToken } from '../tokens/service.ts';
import { newUserSchema } from '../users/schema.ts';
import { createUser, disableUser, findUserByUsername, listUsers } from '../users/service.ts';
import { CliError } from './errors.ts';
import { cliCtx, printTable, readStdin, withDatabase } from './context.ts';

function check<T>(schema: z.ZodType<T>, value: unknown, option: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new CliError(`--${option}: ${result.error.issues.map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`).join('; ')}`);
}

/** `--expires 90d` / `12h` / an ISO date → a Date. */
export function parseExpiry(text: string, now: Date): Date {
  const rel = /^(\d+)([dh])$/.exec(text);
  if (rel) return new Date(now.getTime() + Number(rel[1]) * (rel[2] === 'd' ? 86_400_000 : 3_600_000));
  const date = new Date(text);
  if (Number.isNaN(date.getTime()) || date <= now) throw new CliError(`--expires: expected a duration like 90d or 12h, or a future date (got ${JSON.stringify(text)})`);
  return date;
}

export function registerAccessCommands(program: Command): void {
  const users = program.command('users').description('people who sign in: create, list, disable');
  users
    .command('create')
    .description('create a user (the first admin of a fresh database too); prints a generated password once unless --password-stdin')
    .requiredOption('--username <name>', 'sign-in name (lower case)')
    .requiredOption('--name <display name>', 'full name as shown in the app')
    .requiredOption('--roles <roles>', `comma-separated: ${ROLES.join(', ')}`)
    .requiredOption('--agency <agency>', 'e.g. NDMA, PDMA Sindh, BISP, SSPA')
    .requiredOption('--jurisdiction <prefix>', 'P-code prefix: PK federal, PK7 Sindh, PK701 one district')
    .option('--password-stdin', 'read the password from standard input instead of generating one')
    .option('--senders <list>', 'comma-separated CAP senders the user may publish alerts as, e.g. ffd@pmd.gov.pk')
    .option('--email <address>', 'where the user is told what waits for them (batches to approve or release), when the server sends mail')
    .action(async (o: { username: string; name: string; roles: string; agency: string; jurisdiction: string; passwordStdin?: boolean; senders?: string; email?: string }) => {
      const password = o.passwordStdin ? (await readStdin()).replace(/\r?\n$/, '') : randomToken(12);
      const input = check(
        newUserSchema,
        { username: o.username, displayName: o.name, password, roles: o.roles.split(',').map((r) => r.trim()), agency: o.agency, jurisdiction: o.jurisdiction, senders: splitSenders(o.senders), email: o.email },
        'options',
      );
      const user = await withDatabase((database) => createUser(cliCtx(database), input));
      process.stdout.write(`Created user ${user.username} (${user.roles.join(', ')}; ${user.agency}; ${user.jurisdiction}${user.senders.length ? `; publishes as ${user.senders.join(', ')}` : ''}${user.email ? `; mailed at ${user.email}` : ''}), id ${user.id}.\n`);
      if (!o.passwordStdin) process.stdout.write(`Password (shown once): ${password}\n`);
    });
  users
    .command('list')
    .description('list users')
    .action(() =>
      withDatabase(async (database) => {
        const ctx = cliCtx(database);
        printTable(await listUsers(ctx), ['username', 'displayName', 'roles', 'agency', 'jurisdiction', 'senders', 'disabledAt']);
      }),
    );
  users
    .command('disable <username>')
    .description('disable a user; their sessions stop working at once')
    .action((username: string) =>
      withDatabase(async (database) => {
        const ctx = cliCtx(database);
        const user = await findUserByUsername(ctx, username);
        await disableUser(ctx, user.id);
        process.stdout.write(`Disabled ${username}.\n`);
      }),
    );

  const tokens = program.command('tokens').description('API tokens for machine clients: create, revoke');
  tokens
    .command('create')
    .description('create an API token; its secret is printed once')
    .requiredOption('--name <name>', 'what the token is for, e.g. "PMD CAP feed"')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .requiredOption('--agency <agency>', 'the agency that uses it')
    .requiredOption('--jurisdiction <prefix>', 'P-code prefix')
    .option('--expires <when>', 'duration such as 90d or 12h, or a date; at most 365d, 90d when not given')
    .option('--senders <list>', 'comma-separated CAP senders it may publish alerts as, e.g. ffd@pmd.gov.pk,pmd.gov.pk')
    .action((o: { name: string; role: string; agency: string; jurisdiction: string; expires?: string; senders?: string }) =>
      withDatabase(async (database) => {
        const ctx = cliCtx(database);
        const created = await createToken(ctx, {
          name: o.name,
          role: check(roleSchema, o.role, 'role'),
          agency: o.agency,
          jurisdiction: check(jurisdictionSchema, o.jurisdiction, 'jurisdiction'),
          expiresAt: o.expires ? parseExpiry(o.expires, ctx.now) : undefined,
          senders: check(sendersSchema, splitSenders(o.senders), 'senders'),
        });
        const as = created.senders.length ? `, publishes as ${created.senders.join(', ')}` : '';
        process.stdout.write(
          `Created token ${created.id} (${created.role}, ${created.jurisdiction}${as}, expires ${created.expiresAt!.toISOString()}).\nToken (shown once): ${created.token}\n`,
        );
      }),
    );
  tokens
    .command('revoke <id>')
    .description('revoke an API token by its id')
    .action((id: string) =>
      withDatabase(async (database) => {
        if (!/^[0-9a-f-]{36}$/i.test(id)) throw new CliError(`expected a token id (UUID), got ${JSON.stringify(id)}`);
        await revokeToken(cliCtx(database), id);
        process.stdout.write(`Revoked ${id}.\n`);
      }),
    );

  const audit = program.command('audit').description('the audit trail');
  audit
    .command('verify')
    .description('check the hash chain of the whole audit trail and name every broken link')
    .action(() =>
      withDatabase(async (database) => {
        const result = await verifyAudit(database.db);
        if (!result.ok) {
          const listed = result.broken.map((b) => `  entry ${b.seq}: ${b.reason}`);
          const unlisted = result.brokenCount - result.broken.length;
          if (unlisted > 0) listed.push(`  and ${unlisted} more`);
          throw new CliError(`audit trail is broken: ${result.brokenCount} of ${result.entries} entries fail\n${listed.join('\n')}`);
        }
        process.stdout.write(`Audit trail intact: ${result.entries} entries.\n`);
      }),
    );
}
