import { createEvent, resolveNotification, type EventView, type NotificationPreview } from '../api.ts';
import { h, uid } from '../dom.ts';
import { t, tMaybe } from '../i18n.ts';
import { navigate } from '../router.ts';
import { errorText, type ViewContext } from './common.ts';
import { focusAreas } from './parts.ts';

type PreviewLine = NotificationPreview['lines'][number];
type AreaRef = NonNullable<PreviewLine['area']>;
const LEVELS = ['country', 'province', 'district', 'tehsil', 'union_council'];

/** The hazards an event may name (server: triggers/subject.ts HAZARDS). */
export const HAZARD_CHOICES: EventView['hazard'][] = [
  'flood', 'riverine_flood', 'flash_flood', 'glof', 'earthquake', 'tsunami', 'cyclone', 'storm', 'heatwave', 'coldwave', 'drought', 'landslide', 'fire', 'other',
];

/** One line as the draft holds it: what to send, and what it resolved to (once it has). */
interface DraftLine {
  fileLine: number;
  /** The line as the notification wrote it, kept through corrections. */
  written: string;
  submitted: string;
  level: string | null;
  /** The area chosen or resolved; none while the line waits for a correction. */
  area: AreaRef | null;
  preview: PreviewLine;
}

const describe = (a: AreaRef) => `${a.name} (${a.code}, ${tMaybe(`lvl_${LEVELS[a.level] ?? ''}`, String(a.level))}${a.within ? `, ${a.within}` : ''})`;

/** The draft's lines as CSV, so each line's level hint survives a second check. */
function asCsv(lines: DraftLine[]): string {
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  // A line that resolved resolves the same way again; a chosen area goes by its P-code.
  const row = (l: DraftLine) => (l.area && l.preview.status !== 'resolved' ? `${l.area.code},` : `${q(l.submitted)},${l.level ?? ''}`);
  return ['name,level', ...lines.map(row)].join('\n');
}

/**
 * Declaring an event from the notification as the PDMA's letter lists it: pasted or uploaded (text or CSV),
 * each line resolved against the gazetteer before anything is stored, ambiguous and unknown lines shown with
 * what they could be, corrected by choosing or rewriting, then saved as a draft or declared.
 */
export async function declareView(panel: HTMLElement, ctx: ViewContext): Promise<void> {
  let fileName: string | undefined;
  let draft: DraftLine[] = [];
  const name = h('input', { id: 'event-name', name: 'name', required: true, minlength: '3', maxlength: '200', autocomplete: 'off' });
  const hazard = h('select', { id: 'event-hazard', name: 'hazard' }, HAZARD_CHOICES.map((z) => h('option', { value: z }, tMaybe(`hz_${z}`, z))));
  const text = h('textarea', { id: 'event-areas', rows: '10', spellcheck: 'false', dir: 'ltr', 'aria-describedby': 'event-areas-help' });
  const file = h('input', {
    id: 'event-file',
    type: 'file',
    accept: '.txt,.csv,text/plain,text/csv',
    onchange: async () => {
      const chosen = file.files?.[0];
      if (!chosen) return;
      text.value = await chosen.text();
      fileName = chosen.name;
    },
  });
  text.addEventListener('input', () => {
    fileName = undefined;
  });
  const check = h('button', { type: 'button' }, t('checkList'));
  const summary = h('p', { class: 'summary', role: 'status', 'aria-live': 'polite' });
  const preview = h('div', { class: 'preview' });
  const result = h('div', { 'aria-live': 'assertive' });
  const saveDraft = h('button', { type: 'button', class: 'secondary', disabled: true }, t('saveDraft'));
  const declare = h('button', { type: 'button', disabled: true }, t('declareNow'));

  const resolved = () => draft.length > 0 && draft.every((l) => l.area);
  const refresh = () => {
    const waiting = draft.filter((l) => !l.area).length;
    summary.textContent = draft.length === 0 ? '' : t('linesChecked', { n: draft.length, ok: draft.length - waiting, waiting });
    saveDraft.disabled = declare.disabled = !resolved();
    ctx.map.setAffected(draft.flatMap((l) => (l.area ? [l.area.code] : [])));
  };

  const lineRow = (l: DraftLine, i: number): HTMLElement => {
    const p = l.preview;
    const cells: (Node | string)[] = [
      h('td', { class: 'n' }, String(l.fileLine)),
      h('td', { dir: 'auto' }, l.written, l.submitted !== l.written ? h('span', { class: 'help' }, ` → ${l.submitted}`) : '', l.level ? h('span', { class: 'help' }, ` (${tMaybe(`lvl_${l.level}`, l.level)})`) : ''),
    ];
    if (l.area) {
      const chosen = p.status !== 'resolved';
      cells.push(h('td', {}, h('span', { class: 'pill st-resolved' }, chosen ? t('lineChosen') : t('lineResolved'))), h('td', {}, describe(l.area)));
      return h('tr', { class: 'line-resolved', 'data-line': String(i) }, cells);
    }
    const options = (p.status === 'ambiguous' ? p.candidates : p.suggestions) ?? [];
    const pickId = uid('pick');
    const fixId = uid('fix');
    const pick = h(
      'select',
      {
        id: pickId,
        onchange: () => {
          const a = options.find((o) => o.code === pick.value);
          if (!a) return;
          draft[i] = { ...l, area: a };
          render();
        },
      },
      h('option', { value: '' }, t('chooseArea')),
      options.map((o) => h('option', { value: o.code }, describe(o))),
    );
    const fix = h('input', { id: fixId, value: l.submitted, dir: 'auto', autocomplete: 'off' });
    fix.addEventListener('change', () => {
      draft[i] = { ...l, submitted: fix.value.trim() || l.submitted };
      summary.textContent = t('recheckHint');
    });
    cells.push(
      h('td', {}, h('span', { class: `pill st-${p.status}` }, p.status === 'ambiguous' ? t('lineAmbiguous') : t('lineUnknown'))),
      h(
        'td',
        {},
        h('p', { class: 'explain' }, p.explanation ?? ''),
        options.length > 0 ? h('div', {}, h('label', { for: pickId }, p.status === 'ambiguous' ? t('whichArea') : t('didYouMean')), pick) : '',
        h('div', {}, h('label', { for: fixId }, t('rewriteLine')), fix),
      ),
    );
    return h('tr', { class: `line-${p.status}`, 'data-line': String(i) }, cells);
  };

  const render = () => {
    preview.replaceChildren(
      draft.length === 0
        ? ''
        : h(
            'table',
            { class: 'resolution' },
            h('caption', {}, t('resolutionCaption')),
            h('thead', {}, h('tr', {}, [t('fileLine'), t('asWritten'), t('result'), t('resolvedTo')].map((c) => h('th', { scope: 'col' }, c)))),
            h('tbody', {}, draft.map(lineRow)),
          ),
    );
    refresh();
  };

  const runCheck = async (body: string, fileName?: string, before?: DraftLine[]) => {
    result.replaceChildren();
    check.disabled = true;
    check.textContent = t('checking');
    try {
      const answer = await resolveNotification(body, fileName);
      // A corrected draft keeps each line's place and wording in the notification.
      draft = answer.lines.map((p, i) => ({
        fileLine: before?.[i]?.fileLine ?? p.fileLine,
        written: before?.[i]?.written ?? p.submitted,
        submitted: p.submitted,
        level: p.levelHint,
        area: p.status === 'resolved' ? p.area! : null,
        preview: p,
      }));
      render();
      void focusAreas(ctx.map, draft.flatMap((l) => (l.area ? [l.area.code] : [])));
      (preview.querySelector('tr.line-ambiguous select, tr.line-unknown select, tr.line-unknown input') as HTMLElement | null)?.focus();
    } catch (err) {
      result.append(h('p', { class: 'error', role: 'alert' }, errorText(err)));
    } finally {
      check.disabled = false;
      check.textContent = t('checkList');
    }
  };

  check.onclick = () => {
    if (!text.value.trim()) return void result.replaceChildren(h('p', { class: 'error', role: 'alert' }, t('emptyList')));
    // A corrected draft is checked again as it now stands; a new paste starts over.
    const corrected = draft.length > 0 && draft.some((l) => !l.area) && text.dataset.checked === text.value;
    void runCheck(corrected ? asCsv(draft) : text.value, corrected ? 'corrected.csv' : fileName, corrected ? draft : undefined);
    text.dataset.checked = text.value;
  };

  const store = async (status: 'draft' | 'declared') => {
    result.replaceChildren();
    if (name.value.trim().length < 3) {
      name.focus();
      return void result.append(h('p', { class: 'error', role: 'alert' }, t('nameNeeded')));
    }
    saveDraft.disabled = declare.disabled = true;
    try {
      const areas = draft.map((l) => (l.preview.status === 'resolved' ? { area: l.submitted, ...(l.level ? { level: l.level as 'district' } : {}) } : { area: l.area!.code }));
      const event = await createEvent({ name: name.value.trim(), hazard: hazard.value as EventView['hazard'], status, areas });
      navigate(`/events/${event.id}`);
    } catch (err) {
      result.append(h('p', { class: 'error', role: 'alert' }, errorText(err)));
      refresh();
    }
  };
  saveDraft.onclick = () => void store('draft');
  declare.onclick = () => void store('declared');

  panel.append(
    h('p', {}, h('a', { href: '/events', 'data-link': true }, `← ${t('backToEvents')}`)),
    h('h1', {}, t('declareTitle')),
    h(
      'form',
      { class: 'declare', onsubmit: (e: Event) => e.preventDefault() },
      h('label', { for: 'event-name' }, t('eventName')),
      name,
      h('label', { for: 'event-hazard' }, t('hazard')),
      hazard,
      h('label', { for: 'event-areas' }, t('notificationList')),
      h('p', { id: 'event-areas-help', class: 'help' }, t('notificationHelp')),
      text,
      h('label', { for: 'event-file' }, t('notificationFile')),
      file,
      h('div', { class: 'actions' }, check),
      summary,
      preview,
      h('div', { class: 'actions' }, saveDraft, declare),
      result,
    ),
  );
  name.focus();
}
