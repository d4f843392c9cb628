import { readFileSync } from 'node:fs';
import { eq, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit } from '../audit/service.ts';
import { withTransaction, type Ctx } from '../context.ts';
import { queryRows, type Db } from '../db/client.ts';
import { settings } from '../db/schema/index.ts';
import { ValidationError } from '../errors.ts';
import { CHANNELS, csvLine, type Channel } from './layouts.ts';

/**
 * Texts to beneficiaries (SMS): one per instruction, moment and language, made in the transaction that
 * exports the instruction (`exported`: how much, where and from when), that records it paid (`paid`), or
 * that stops a payment the household was told about (`cancelled`: do not travel to collect it).
 * The words are in server/payments/messages/: `<moment>.<language>.txt` (the text, one line after `#`
 * comments) and `phrases.<language>.txt` (each channel's words and the months). Placeholders:
 *
 * | placeholder      | what it becomes                                                               |
 * |------------------|-------------------------------------------------------------------------------|
 * | `{programme}`    | the paying programme (BISP, SSPA, …)                                          |
 * | `{amount}`       | the amount in rupees, `25,000` (paid: the amount the bank paid)               |
 * | `{channel_text}` | the channel's verb (phrases: `<channel>.channel_text`)                        |
 * | `{where}`        | the channel's place (phrases: `<channel>.where`; `{district}` inside it)      |
 * | `{from_date}`    | the file's date plus the collection delay, Pakistan time (`28 Aug 2026`)      |
 * | `{paid_date}`    | the day the bank says it paid, Pakistan time                                  |
 * | `{reference}`    | the instruction id, which the helpline and the bank know it by                |
 * | `{helpline}`     | the helpline (setting, `0800-26477`, BISP's, by default)                      |
 *
 * A text holds nothing of anyone but its own instruction, and nothing of the person's identity: no name, no
 * CNIC, no account. It goes to the wallet's own number for a wallet payment, else to the household's phone
 * in the registry (as it is now, not as frozen in the batch); no phone, no text (counted).
 */
export const MOMENTS = ['exported', 'paid', 'cancelled'] as const;
export type Moment = (typeof MOMENTS)[number];
export const LANGUAGES = ['ur', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

/** The instance's choices for the texts: a row of `settings` under this key, each field optional. */
export const MESSAGE_SETTINGS_KEY = 'messages';
export const messageSettingsSchema = z.object({
  /** The number a person calls about the payment. BISP's helpline by default. */
  helpline: z.string().regex(/^[0-9+][0-9 -]{3,19}$/, 'expected a phone number such as 0800-26477').default('0800-26477'),
  /**
   * Days from the day a file is made to the day its payments can be collected (or reach the account): the
   * bank or camp needs the file first. An assumption (2 days) until the payers say otherwise.
   */
  collectAfterDays: z.number().int().min(0).max(60).default(2),
  /** The languages a text is made in, each its own message. */
  languages: z.array(z.enum(LANGUAGES)).min(1).default(['ur', 'en']),
});
export type MessageSettings = z.infer<typeof messageSettingsSchema>;

/** The settings in force: the stored row's fields over the defaults. */
export async function messageSettings(db: Db): Promise<MessageSettings> {
  const [row] = await db.select({ value: settings.value }).from(settings).where(eq(settings.key, MESSAGE_SETTINGS_KEY));
  const parsed = messageSettingsSchema.safeParse(row?.value ?? {});
  return parsed.success ? parsed.data : messageSettingsSchema.parse({});
}

/** Changes the settings (the fields given), audited; returns those in force. */
export async function setMessageSettings(ctx: Ctx, change: Partial<MessageSettings>): Promise<MessageSettings> {
  return withTransaction(ctx, async (t) => {
    const before = await messageSettings(t.tx as unknown as Db);
    const parsed = messageSettingsSchema.safeParse({ ...before, ...change });
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
      throw new ValidationError(`The message settings are not valid: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}.`, problems);
    }
    const value = parsed.data;
    await t.tx.insert(settings).values({ key: MESSAGE_SETTINGS_KEY, value, updatedAt: t.now }).onConflictDoUpdate({ target: settings.key, set: { value, updatedAt: t.now } });
    await recordAudit(t.tx, t, { action: 'messages.settings', subject: `setting:${MESSAGE_SETTINGS_KEY}`, jurisdiction: 'PK', summary: { before, after: value } });
    return value;
  });
}

const TEMPLATE_DIR = new URL('./messages/', import.meta.url);
const PLACEHOLDERS: Record<Moment, readonly string[]> = {
  exported: ['programme', 'amount', 'channel_text', 'where', 'from_date', 'reference', 'helpline'],
  paid: ['programme', 'amount', 'paid_date', 'reference', 'helpline'],
  cancelled: ['programme', 'amount', 'reference', 'helpline'],
};

/** A file's lines without `#` comments and blank lines. */
const contentLines = (name: string) =>
  readFileSync(new URL(name, TEMPLATE_DIR), 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

interface Words {
  texts: Record<Moment, string>;
  channel: Record<Channel, { channelText: string; where: string }>;
  months: string[];
}

/** Reads and checks a language's files: every text one line, only known placeholders, every channel worded. */
function loadWords(language: Language): Words {
  const texts = {} as Record<Moment, string>;
  for (const moment of MOMENTS) {
    const lines = contentLines(`${moment}.${language}.txt`);
    if (lines.length !== 1) throw new Error(`messages/${moment}.${language}.txt: expected one line of text, found ${lines.length}`);
    const unknown = [...lines[0]!.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).filter((p) => !PLACEHOLDERS[moment].includes(p));
    if (unknown.length) throw new Error(`messages/${moment}.${language}.txt: unknown placeholders ${unknown.join(', ')}`);
    texts[moment] = lines[0]!;
  }
  const phrases = new Map(
    contentLines(`phrases.${language}.txt`).map((l) => {
      const at = l.indexOf('=');
      return [l.slice(0, at).trim(), l.slice(at + 1).trim()] as const;
    }),
  );
  const phrase = (key: string) => {
    const value = phrases.get(key);
    if (!value) throw new Error(`messages/phrases.${language}.txt: no ${key}`);
    return value;
  };
  const channel = Object.fromEntries(CHANNELS.map((c) => [c, { channelText: phrase(`${c}.channel_text`), where: phrase(`${c}.where`) }])) as Words['channel'];
  const months = phrase('months').split(',').map((m) => m.trim());
  if (months.length !== 12) throw new Error(`messages/phrases.${language}.txt: expected 12 months, found ${months.length}`);
  return { texts, channel, months };
}

let words: Record<Language, Words> | undefined;
/** The words of every language, read once (a wrong file fails the first text, loudly). */
export function messageWords(): Record<Language, Words> {
  return (words ??= { ur: loadWords('ur'), en: loadWords('en') });
}

/** Pakistan Standard Time, UTC+5 all year: the day a person reads in a text. */
const PKT_MS = 5 * 3600_000;
const dayText = (at: Date, months: readonly string[]) => {
  const d = new Date(at.getTime() + PKT_MS);
  return `${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
};

/** What one text is made of: its own instruction only. */
export interface MessageFacts {
  reference: string;
  channel: Channel;
  programme: string;
  amountPkr: number;
  /** The district's name (its code when the gazetteer has no name). */
  district: string;
  /** When its payment file was made (exported), when the bank paid it (paid). */
  at: Date;
}

/** One text, in one language. Placeholders are filled once, so a value holding `{…}` stays as it is. */
export function renderMessage(moment: Moment, language: Language, facts: MessageFacts, s: MessageSettings): string {
  const w = messageWords()[language];
  const ch = w.channel[facts.channel];
  const values: Record<string, string> = {
    programme: facts.programme,
    amount: facts.amountPkr.toLocaleString('en-US'),
    channel_text: ch.channelText,
    // A function, so a `$` in a name is the name (a string replacement reads `$&` and the like as patterns).
    where: ch.where.replace('{district}', () => facts.district),
    from_date: dayText(new Date(facts.at.getTime() + s.collectAfterDays * 86_400_000), w.months),
    paid_date: dayText(facts.at, w.months),
    reference: facts.reference,
    helpline: s.helpline,
  };
  return w.texts[moment].replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
}

/** A Pakistani mobile number as the gateway takes it (`923001234567`), or null when it is none. */
export function msisdnOf(phone: string | null | undefined): string | null {
  const m = phone ? /^(?:\+92|0092|92|0)?(3\d{9})$/.exec(phone.replace(/[\s-]/g, '')) : null;
  return m ? `92${m[1]}` : null;
}

export type MessageSelection = { fileId: string; instructionIds?: never } | { instructionIds: readonly string[]; fileId?: never };

export interface MessagesMade {
  moment: Moment;
  /** Texts written now (one per instruction and language). */
  made: number;
  /** Instructions of this call with no phone to text (no wallet number, no usable phone in the registry). */
  noPhone: number;
  /** Texts that existed already (each is made once). */
  already: number;
}

/**
 * Which of the chosen instructions a moment texts: one in a file; one the bank paid; one whose household was
 * told it was on its way (an `exported` text) and which is now stopped.
 */
const MOMENT_WHERE: Record<Moment, SQL> = {
  exported: sql`i.file_id is not null`,
  paid: sql`i.state = 'paid'`,
  cancelled: sql`exists (select 1 from messages m where m.instruction_id = i.id and m.moment = 'exported')`,
};

/** Instructions named per statement (their ids are sent as one parameter). */
const PAGE = 20_000;

/**
 * What JavaScript's `\s` matches (ECMA-262: WhiteSpace and LineTerminator), and the hyphen: what msisdnOf
 * takes out of a phone before reading it. Spelled out, since PostgreSQL's `\s` depends on the locale.
 */
const PHONE_NOISE = '[\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff-]';
/** msisdnOf's pattern, with `\d` as ASCII digits (JavaScript's `\d`; PostgreSQL's follows the locale). */
const MOBILE = '^(?:\\+92|0092|92|0)?(3[0-9]{9})$';

/** msisdnOf in SQL, over a text expression: the gateway's number, or null when it is none. */
export const msisdnSql = (phone: SQL) => sql`'92' || substring(regexp_replace(${phone}, ${PHONE_NOISE}, '', 'g') from ${MOBILE})`;

/** A day as dayText writes it, of a Pakistan-time timestamp (without time zone) in SQL. */
const daySql = (local: SQL, months: readonly string[]) =>
  sql`extract(day from ${local})::int::text || ' ' || (case extract(month from ${local})::int ${sql.join(
    months.map((m, i) => sql`when ${i + 1} then ${m}::text`),
    sql` `,
  )} end) || ' ' || extract(year from ${local})::int::text`;

/**
 * A moment's text in one language as one SQL expression over a row `c` of the chosen instructions: the
 * template cut at its placeholders, each filled once (a value holding `{…}` stays as it is), exactly as
 * renderMessage writes it, so millions of texts are made inside the database instead of sent to it.
 */
function bodySql(moment: Moment, language: Language, s: MessageSettings): SQL {
  const w = messageWords()[language];
  const byChannel = (text: (ch: Words['channel'][Channel]) => SQL) =>
    sql`(case c.channel ${sql.join(
      CHANNELS.map((channel) => sql`when ${channel}::text then ${text(w.channel[channel])}`),
      sql` `,
    )} end)`;
  const values: Record<string, SQL> = {
    programme: sql`c.programme`,
    amount: sql`to_char(c.amount_pkr, 'FM999,999,999,999,990')`,
    channel_text: byChannel((ch) => sql`${ch.channelText}::text`),
    where: byChannel((ch) => {
      const at = ch.where.indexOf('{district}');
      return at < 0 ? sql`${ch.where}::text` : sql`${ch.where.slice(0, at)}::text || c.district || ${ch.where.slice(at + '{district}'.length)}::text`;
    }),
    from_date: daySql(sql`(c.local_at + ${s.collectAfterDays} * interval '1 day')`, w.months),
    paid_date: daySql(sql`c.local_at`, w.months),
    reference: sql`c.id`,
    helpline: sql`${s.helpline}::text`,
  };
  const template = w.texts[moment];
  const parts: SQL[] = [];
  let last = 0;
  for (const m of template.matchAll(/\{(\w+)\}/g)) {
    if (m.index > last) parts.push(sql`${template.slice(last, m.index)}::text`);
    parts.push(values[m[1]!] ?? sql`${m[0]}::text`);
    last = m.index + m[0].length;
  }
  if (last < template.length) parts.push(sql`${template.slice(last)}::text`);
  return parts.length ? sql`(${sql.join(parts, sql` || `)})` : sql`''::text`;
}

/**
 * Makes the texts of the instructions of a payment file, or of the instructions named, for one moment:
 * `exported` for instructions in a payment file, `paid` for instructions the bank paid (others are passed
 * over). Each (instruction, moment, language) is written once (`on conflict do nothing`), so calling it
 * again writes nothing. Runs in the caller's transaction: the texts exist exactly when the export or the
 * payment does. Set-based: the chosen instructions are gathered into a table of the transaction and
 * analysed (so the planner knows how many it joins to the lines and the registry: an instruction just put in
 * a file has no statistics), and the texts of all of them are written by one `insert … select`, rendered by
 * bodySql. The same texts as rendering each with renderMessage, byte for byte.
 */
export async function messagesFor(ctx: Ctx, input: MessageSelection & { moment: Moment }): Promise<MessagesMade> {
  return withTransaction(ctx, async (t) => {
    const result: MessagesMade = { moment: input.moment, made: 0, noPhone: 0, already: 0 };
    const ids = input.instructionIds ? [...new Set(input.instructionIds)].sort() : undefined;
    if (ids && ids.length === 0) return result;
    const s = await messageSettings(t.tx as unknown as Db);
    const exported = input.moment === 'exported';
    const tx = t.tx as unknown as Db;
    const byBatch = new Map<string, { jurisdiction: string; made: number; noPhone: number; first: string }>();
    const stamp = t.now.toISOString();
    for (let page = 0; ; page++) {
      const chosen: SQL = ids
        ? sql`i.id in (select jsonb_array_elements_text(${JSON.stringify(ids.slice(page * PAGE, (page + 1) * PAGE))}::jsonb))`
        : sql`i.file_id = ${input.fileId}::uuid`;
      await t.tx.execute(sql`drop table if exists pg_temp.message_chosen`);
      await t.tx.execute(sql`
        create temp table message_chosen on commit drop as
        select i.id, i.batch_id, i.line_no, i.channel, i.account,
          ${exported ? sql`i.amount_pkr` : sql`coalesce(i.paid_pkr, i.amount_pkr)`} as amount_pkr,
          -- The day a text names is read in Pakistan time (UTC+5 all year), as dayText does.
          (coalesce(${exported ? sql`f.made_at` : sql`i.paid_at`}, ${stamp}::timestamptz) at time zone 'UTC') + interval '5 hours' as local_at
        from payment_instructions i
        ${exported ? sql`left join payment_files f on f.id = i.file_id` : sql``}
        where ${chosen} and ${MOMENT_WHERE[input.moment]}`);
      await t.tx.execute(sql`analyze pg_temp.message_chosen`);
      await t.tx.execute(sql`drop table if exists pg_temp.message_rows`);
      await t.tx.execute(sql`
        create temp table message_rows on commit drop as
        select c.id, c.batch_id, b.jurisdiction, b.programme, c.channel, c.amount_pkr, c.local_at,
          coalesce(a.name, l.district) as district,
          -- A wallet is texted at its own number: the registry's phone is read only for the other channels.
          ${msisdnSql(sql`case when c.channel = 'mobile_wallet' then c.account else h.phone end`)} as msisdn
        from message_chosen c
        join batches b on b.id = c.batch_id
        join batch_lines l on l.batch_id = c.batch_id and l.line_no = c.line_no
        left join areas a on a.code = l.district and a.valid_to is null
        left join households h on c.channel <> 'mobile_wallet' and h.source = l.source and h.household_id = l.household_id`);
      const languages = sql`(values ${sql.join(
        s.languages.map((language, k) => sql`(${language}::text, ${k})`),
        sql`, `,
      )}) as x(language, k)`;
      const counts = await queryRows<{ batch_id: string; jurisdiction: string; first: string; no_phone: number; texted: number; made: number }>(
        tx,
        sql`with made as (
              insert into messages (instruction_id, moment, language, msisdn, body, created_at)
              select c.id, ${input.moment}, x.language, c.msisdn,
                case x.language ${sql.join(
                  s.languages.map((language) => sql`when ${language}::text then ${bodySql(input.moment, language, s)}`),
                  sql` `,
                )} end,
                ${stamp}::timestamptz
              from message_rows c cross join ${languages}
              where c.msisdn is not null
              on conflict do nothing
              returning instruction_id
            ),
            per as (select instruction_id, count(*)::int as n from made group by instruction_id)
            select c.batch_id::text, c.jurisdiction, min(c.id) as first,
              count(*) filter (where c.msisdn is null)::int as no_phone,
              count(*) filter (where c.msisdn is not null)::int as texted,
              coalesce(sum(per.n), 0)::int as made
            from message_rows c left join per on per.instruction_id = c.id
            group by c.batch_id, c.jurisdiction`,
      );
      for (const c of counts) {
        const batch = byBatch.get(c.batch_id) ?? { jurisdiction: c.jurisdiction, made: 0, noPhone: 0, first: c.first };
        byBatch.set(c.batch_id, batch);
        batch.made += c.made;
        batch.noPhone += c.no_phone;
        result.made += c.made;
        result.noPhone += c.no_phone;
        result.already += c.texted * s.languages.length - c.made;
      }
      if (!ids || (page + 1) * PAGE >= ids.length) break;
    }
    // Audited batch by batch in the order of their first instruction, as the texts were made.
    for (const [batchId, b] of [...byBatch].sort((x, y) => (x[1].first < y[1].first ? -1 : 1)))
      if (b.made > 0 || b.noPhone > 0)
        await recordAudit(t.tx, t, {
          action: 'payments.messages_made',
          subject: input.fileId ? `payment-file:${input.fileId}` : `batch:${batchId}`,
          jurisdiction: b.jurisdiction,
          summary: { batchId, moment: input.moment, made: b.made, noPhone: b.noPhone, languages: s.languages },
        });
    return result;
  });
}

/** The columns of the file for the SMS gateway, in this order. */
export const GATEWAY_COLUMNS = ['msisdn', 'language', 'body', 'message_id'] as const;

export interface MessagesExported {
  exportId: string;
  count: number;
  byLanguage: Record<string, number>;
}

/**
 * Hands the waiting texts to the SMS gateway: a CSV (UTF-8, RFC 4180, header `msisdn,language,body,
 * message_id`) written through `write`, oldest first, while the same transaction marks each exported
 * (`exported_at`, `export_id`). A failed write rolls the marks back, so a text is taken by one export only
 * and a second export writes only newer ones. Two exports at once split the texts (`skip locked`).
 * `message_id` is stable: a gateway that keeps it can drop a text it already sent.
 */
export async function exportMessages(ctx: Ctx, write: (chunk: string) => Promise<void>): Promise<MessagesExported> {
  return withTransaction(ctx, async (t) => {
    const exportId = crypto.randomUUID();
    const byLanguage: Record<string, number> = {};
    let count = 0;
    await write(csvLine(GATEWAY_COLUMNS));
    for (;;) {
      const rows = await queryRows<{ id: string; msisdn: string; language: string; body: string; at: number }>(
        t.tx as unknown as Db,
        sql`with taken as (
              select id from messages where exported_at is null order by created_at, id limit ${PAGE} for update skip locked
            )
            update messages m set exported_at = ${t.now.toISOString()}::timestamptz, export_id = ${exportId}::uuid
            from taken where m.id = taken.id
            returning m.id::text, m.msisdn, m.language, m.body, extract(epoch from m.created_at)::float8 as at`,
      );
      if (rows.length === 0) break;
      // `returning` keeps no order: oldest first again.
      rows.sort((a, b) => Number(a.at) - Number(b.at) || (a.id < b.id ? -1 : 1));
      await write(rows.map((r) => csvLine([r.msisdn, r.language, r.body, r.id])).join(''));
      for (const r of rows) byLanguage[r.language] = (byLanguage[r.language] ?? 0) + 1;
      count += rows.length;
      if (rows.length < PAGE) break;
    }
    if (count > 0)
      await recordAudit(t.tx, t, { action: 'messages.exported', subject: `message-export:${exportId}`, jurisdiction: 'PK', summary: { exportId, count, byLanguage } });
    return { exportId, count, byLanguage };
  });
}

/** How many texts wait for the gateway and how many were handed over, by moment. */
export async function messageCounts(db: Db): Promise<{ moment: string; waiting: number; exported: number }[]> {
  return queryRows(
    db,
    sql`select moment, count(*) filter (where exported_at is null)::int as waiting, count(*) filter (where exported_at is not null)::int as exported
        from messages group by moment order by moment`,
  );
}
