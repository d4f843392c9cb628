/**
 * EDXL-DE 1.0 envelopes (OASIS Emergency Data Exchange Language Distribution Element, 2006): senders such
 * as the NSW Rural Fire Service wrap their CAP messages in an `<EDXLDistribution>` whose `<contentObject>`s
 * each carry XML in `<xmlContent>/<embeddedXMLContent>`. The CAP alerts inside are read as they would be
 * on their own; the envelope's `distributionID` and `senderID` go into each message's notes, so the stored
 * alert says how it came. The envelope's sender is not the alerts' sender: each CAP message names its own.
 */
import { capFormat, CAP_NAMESPACES, isCapAlert } from './cap.ts';
import { AlertParseError } from './error.ts';
import { capMessage } from './feeds.ts';
import { boundMessageCount } from './limits.ts';
import type { AlertFormat, MessageResult } from './types.ts';
import { kid, kids, textOf, type XmlElement } from './xml.ts';

export const EDXL_DE_NS = 'urn:oasis:names:tc:emergency:EDXL:DE:1.0';

export const isEdxlDistribution = (root: XmlElement) => root.local === 'EDXLDistribution';

export function readEdxlDistribution(root: XmlElement): { format: AlertFormat; messages: MessageResult[] } {
  if (root.ns !== EDXL_DE_NS) {
    throw new AlertParseError(
      `The <${root.name}> is in namespace "${root.ns}"; the EDXL-DE envelope we read is version 1.0 ("${EDXL_DE_NS}").`,
      { field: root.name },
    );
  }
  const ns = [EDXL_DE_NS];
  const distributionId = textOf(root, 'distributionID', ns);
  const senderId = textOf(root, 'senderID', ns);
  const status = textOf(root, 'distributionStatus', ns);
  const objects = kids(root, 'contentObject', ns);
  boundMessageCount(objects.length, 'EDXL-DE content objects');
  const envelope = `distribution "${distributionId ?? '(no distributionID)'}" from "${senderId ?? '(no senderID)'}"`;

  const messages: MessageResult[] = [];
  const others: string[] = [];
  let format: AlertFormat | undefined;
  objects.forEach((object, i) => {
    const embedded = kids(kid(object, 'xmlContent', ns), 'embeddedXMLContent', ns).flatMap((e) => e.children);
    const alerts = embedded.filter(isCapAlert);
    const what = describe(object, embedded, ns);
    if (alerts.length === 0) {
      others.push(`${i + 1}: ${what}`);
      messages.push({ ok: false, reason: `EDXL-DE content object ${i + 1} carries no CAP alert (${what}); skipped.` });
      return;
    }
    for (const alert of alerts) {
      format ??= capFormat(alert);
      messages.push(withEnvelope(capMessage(alert), envelope, status));
    }
  });
  if (!format) {
    throw new AlertParseError(
      `The EDXL-DE ${envelope} carries no CAP alert${others.length ? `: its content objects hold ${others.join('; ')}` : ': it has no <contentObject>'}. Put each CAP <alert> in contentObject/xmlContent/embeddedXMLContent.`,
      { field: 'EDXLDistribution.contentObject' },
    );
  }
  return { format, messages };
}

/** What a content object holds instead of CAP, for the refusal. */
function describe(object: XmlElement, embedded: XmlElement[], ns: string[]): string {
  if (embedded.length > 0) {
    const first = embedded[0]!;
    const isOtherCap = first.local === 'alert' && !(first.ns in CAP_NAMESPACES);
    return `<${first.name}>${first.ns ? ` in namespace "${first.ns}"` : ''}${isOtherCap ? ', not a CAP version we read' : ''}`;
  }
  const other = kid(object, 'nonXMLContent', ns);
  if (other) return `non-XML content${textOf(other, 'mimeType', ns) ? ` of type ${textOf(other, 'mimeType', ns)}` : ''}`;
  return 'nothing in xmlContent/embeddedXMLContent';
}

/** The message with a note naming the envelope it came in (and a warning when the two disagree on status). */
function withEnvelope(result: MessageResult, envelope: string, status: string | undefined): MessageResult {
  if (!result.ok) return { ...result, reason: `${result.reason} (in EDXL-DE ${envelope})` };
  const warnings = [...result.warnings, `Delivered in EDXL-DE ${envelope}.`];
  // distributionStatus uses CAP's words (Actual, Exercise, System, Test); the CAP message's own status decides.
  if (status && status.toLowerCase() !== result.alert.status.toLowerCase()) {
    warnings.push(`The envelope's distributionStatus is "${status}" but the CAP status is "${result.alert.status}"; the CAP status is used.`);
  }
  return { ok: true, alert: { ...result.alert, notes: warnings }, warnings };
}
