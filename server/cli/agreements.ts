import type { Command } from 'commander';
import { agreementState, createAgreement, getAgreement, listAgreements, revokeAgreement, signAgreement, type Agreement, type Share } from '../exchange/agreements.ts';
import { agreementBody } from '../exchange/schema.ts';
import { actingAs, AS_HELP, checked, refusing, uuidOf } from './batches.ts';
import { cliCtx, printTable, withDatabase } from './context.ts';
import { CliError } from './errors.ts';

/** `NSER:BISP>PSPA:household_id,district,pmt_score`: which registry of whom the other may receive, and which fields. */
export function parseShare(text: string): Share {
  const m = /^([^:]+):([^>]+)>([^:]+):(.*)$/.exec(text.trim());
  if (!m) throw new CliError(`--share: expected SOURCE:FROM>TO:field,field,… such as NSER:BISP>PSPA:district,tehsil,pmt_score, got ${JSON.stringify(text)}`);
  return { source: m[1]!.trim(), from: m[2]!.trim(), to: m[3]!.trim(), fields: m[4]!.split(',').map((f) => f.trim()).filter(Boolean) as Share['fields'] };
}

function show(a: Agreement) {
  const now = new Date();
  const rows: [string, string][] = [
    ['id', a.id],
    ['title', a.title],
    ['parties', `${a.partyA} and ${a.partyB}`],
    ['purpose', a.purpose],
    ['jurisdiction', a.jurisdiction],
    ['linkage', a.linkage],
    ...(a.shares as Share[]).map((s): [string, string] => [`share ${s.source}`, `${s.from} → ${s.to}: ${s.fields.join(', ')}`]),
    ['valid', `${a.validFrom.toISOString()} to ${a.validTo.toISOString()}`],
    ['state', agreementState(a, now)],
    ['drafted', `${a.madeAt.toISOString()} by ${a.madeBy}`],
    ['signed', [a.signedABy ? `${a.partyA}: ${a.signedABy} at ${a.signedAAt!.toISOString()}` : `${a.partyA}: not yet`, a.signedBBy ? `${a.partyB}: ${a.signedBBy} at ${a.signedBAt!.toISOString()}` : `${a.partyB}: not yet`].join('; ')],
    ...(a.revokedAt ? [['revoked', `${a.revokedAt.toISOString()} by ${a.revokedBy}: ${a.revokeReason}`] as [string, string]] : []),
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(rows.map(([k, v]) => `${k.padEnd(width)}  ${v}\n`).join(''));
}

export function registerAgreementCommands(program: Command): void {
  const agreements = program.command('agreements').description('data-sharing agreements between agencies: draft, sign (one officer of each party), revoke, list');
  agreements
    .command('create')
    .description('draft an agreement; it is in force once an officer of each party other than the drafter has signed')
    .requiredOption('--title <text>', 'what it is for, in a line')
    .requiredOption('--party-a <agency>', 'one party, e.g. BISP')
    .requiredOption('--party-b <agency>', 'the other, e.g. PSPA')
    .requiredOption('--purpose <p>', 'dedup, disaster_response or targeting')
    .requiredOption('--jurisdiction <pcode>', 'the area it covers, a P-code prefix such as PK6')
    .requiredOption('--linkage <mode>', 'pseudonymous (linkage keys only) or identified')
    .requiredOption('--share <spec...>', 'SOURCE:FROM>TO:field,field,… (once per registry shared)')
    .requiredOption('--from <instant>', 'in force from (ISO 8601)')
    .requiredOption('--to <instant>', 'in force until (ISO 8601)')
    .option('--as <username>', AS_HELP)
    .action((o: { title: string; partyA: string; partyB: string; purpose: string; jurisdiction: string; linkage: string; share: string[]; from: string; to: string; as?: string }) =>
      withDatabase(async (database) => {
        const body = checked(
          agreementBody,
          { title: o.title, partyA: o.partyA, partyB: o.partyB, purpose: o.purpose, jurisdiction: o.jurisdiction, linkage: o.linkage, shares: o.share.map(parseShare), validFrom: o.from, validTo: o.to },
          { partyA: '--party-a', partyB: '--party-b', shares: '--share', validFrom: '--from', validTo: '--to' },
        );
        const ctx = o.as ? await actingAs(database, o.as) : cliCtx(database);
        const a = await refusing(() => createAgreement(ctx, { ...body, validFrom: new Date(body.validFrom), validTo: new Date(body.validTo) }));
        show(a);
      }),
    );
  agreements
    .command('list')
    .description('every agreement, newest first, with its state')
    .action(() =>
      withDatabase(async (database) => {
        const now = new Date();
        const rows = (await listAgreements(cliCtx(database))).map((a) => ({ ...a, parties: `${a.partyA}+${a.partyB}`, state: agreementState(a, now), until: a.validTo }));
        printTable(rows, ['id', 'parties', 'purpose', 'jurisdiction', 'linkage', 'state', 'until', 'title']);
      }),
    );
  agreements
    .command('show <id>')
    .description('one agreement: parties, shares and fields, validity, signatures')
    .action((id: string) => withDatabase(async (database) => show(await refusing(() => getAgreement(cliCtx(database), uuidOf(id, 'an agreement'))))));
  agreements
    .command('sign <id>')
    .description('sign for your agency; the second signature prints the agreement key once, to hand to the other party out of band')
    .requiredOption('--as <username>', AS_HELP)
    .action((id: string, o: { as: string }) =>
      withDatabase(async (database) => {
        const { agreement, linkKey } = await refusing(async () => signAgreement(await actingAs(database, o.as), uuidOf(id, 'an agreement')));
        show(agreement);
        if (linkKey)
          process.stdout.write(
            `\nAgreement key (shown this once; give it to the other party's technical team by a sealed channel, never by e-mail):\n${linkKey}\n`,
          );
      }),
    );
  agreements
    .command('revoke <id>')
    .description('revoke at once: every export, download and import under it stops; its kept exports are deleted')
    .requiredOption('--reason <text>', 'why, for the trail')
    .requiredOption('--as <username>', AS_HELP)
    .action((id: string, o: { reason: string; as: string }) =>
      withDatabase(async (database) => show(await refusing(async () => revokeAgreement(await actingAs(database, o.as), uuidOf(id, 'an agreement'), o.reason)))),
    );
}
