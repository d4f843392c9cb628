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
    where: ch.where.replace('{district}', facts.district),
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

/** Instructions read, and texts written, per statement. */
const PAGE = 20_000;

/**
 * Makes the texts of the instructions of a payment file, or of the instructions named, for one moment:
 * `exported` for instructions in a payment file, `paid` for instructions the bank paid (others are passed
 * over). Each (instruction, moment, language) is written once (`on conflict do nothing`), so calling it
 * again writes nothing. Runs in the caller's transaction: the texts exist exactly when the export or the
 * payment does. Set-based: a page of instructions per read, a page of texts per insert.
 */
export async function messagesFor(ctx: Ctx, input: MessageSelection & { moment: Moment }): Promise<MessagesMade> {
  return withTransaction(ctx, async (t) => {
    const result: MessagesMade = { moment: input.moment, made: 0, noPhone: 0, already: 0 };
    const ids = input.instructionIds ? [...new Set(input.instructionIds)].sort() : undefined;
    if (ids && ids.length === 0) return result;
    const s = await messageSettings(t.tx as unknown as Db);
    const exported = input.moment === 'exported';
    const byBatch = new Map<string, { jurisdiction: string; made: number; noPhone: number }>();
    let after = '';
    for (let page = 0; ; page++) {
      const chosen: SQL = ids
        ? sql`i.id in (select jsonb_array_elements_text(${JSON.stringify(ids.slice(page * PAGE, (page + 1) * PAGE))}::jsonb))`
        : sql`i.file_id = ${input.fileId}::uuid and i.id > ${after}`;
      const rows = await queryRows<{
        id: string;
        batch_id: string;
        jurisdiction: string;
        channel: Channel;
        account: string | null;
        amount_pkr: number;
        paid_pkr: number | null;
        paid_at: string | null;
        made_at: string | null;
        programme: string;
        district: string;
        district_name: string | null;
        phone: string | null;
      }>(
        t.tx as unknown as Db,
        sql`select i.id, i.batch_id::text, b.jurisdiction, i.channel, i.account, i.amount_pkr, i.paid_pkr, i.paid_at, f.made_at,
              b.programme, l.district, h.phone,
              (select a.name from areas a where a.code = l.district and a.valid_to is null limit 1) as district_name
            from payment_instructions i
            join batches b on b.id = i.batch_id
            join batch_lines l on l.batch_id = i.batch_id and l.line_no = i.line_no
            left join payment_files f on f.id = i.file_id
            -- A wallet is texted at its own number: the registry's phone is read only for the other channels.
            left join households h on i.channel <> 'mobile_wallet' and h.source = l.source and h.household_id = l.household_id
            where ${chosen} and ${MOMENT_WHERE[input.moment]}
            order by i.id ${ids ? sql`` : sql`limit ${PAGE}`}`,
      );
      const texts: { i: string; l: Language; m: string; b: string }[] = [];
      for (const r of rows) {
        const batch = byBatch.get(r.batch_id) ?? { jurisdiction: r.jurisdiction, made: 0, noPhone: 0 };
        byBatch.set(r.batch_id, batch);
        const msisdn = msisdnOf(r.channel === 'mobile_wallet' ? r.account : r.phone);
        if (!msisdn) {
          result.noPhone++;
          batch.noPhone++;
          continue;
        }
        const at = exported ? r.made_at : r.paid_at;
        const facts: MessageFacts = {
          reference: r.id,
          channel: r.channel,
          programme: r.programme,
          amountPkr: exported ? r.amount_pkr : (r.paid_pkr ?? r.amount_pkr),
          district: r.district_name ?? r.district,
          at: at ? new Date(at) : t.now,
        };
        for (const language of s.languages) texts.push({ i: r.id, l: language, m: msisdn, b: renderMessage(input.moment, language, facts, s) });
      }
      const batchOf = new Map(rows.map((r) => [r.id, r.batch_id]));
      for (let k = 0; k < texts.length; k += PAGE) {
        const made = await queryRows<{ instruction_id: string }>(
          t.tx as unknown as Db,
          sql`insert into messages (instruction_id, moment, language, msisdn, body, created_at)
              select x.i, ${input.moment}, x.l, x.m, x.b, ${t.now.toISOString()}::timestamptz
              from json_to_recordset(${JSON.stringify(texts.slice(k, k + PAGE))}::json) as x(i text, l text, m text, b text)
              on conflict do nothing
              returning instruction_id`,
        );
        for (const m of made) byBatch.get(batchOf.get(m.instruction_id)!)!.made++;
        result.made += made.length;
        result.already += Math.min(PAGE, texts.length - k) - made.length;
      }
      after = rows.at(-1)?.id ?? after;
      if (ids ? (page + 1) * PAGE >= ids.length : rows.length < PAGE) break;
    }
    for (const [batchId, b] of byBatch)
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
