/** A small CAP 1.2 message for tests; polygons are written in CAP's lat,lon order. */
export function capMessage(fields: {
  identifier: string;
  sender?: string;
  sent?: string;
  status?: string;
  msgType?: 'Alert' | 'Update' | 'Cancel';
  references?: string;
  event?: string;
  severity?: string;
  urgency?: string;
  certainty?: string;
  responseType?: string;
  expires?: string;
  polygon?: string;
  geocode?: { valueName: string; value: string };
  areaDesc?: string;
  headline?: string;
  /** CAP scope: Public (the default), or Restricted (then with a restriction text). */
  scope?: 'Public' | 'Restricted';
}): string {
  const f = {
    sender: 'pmd.gov.pk',
    sent: '2026-08-26T09:00:00+05:00',
    status: 'Actual',
    msgType: 'Alert',
    event: 'Riverine flood',
    severity: 'Severe',
    urgency: 'Expected',
    certainty: 'Likely',
    areaDesc: 'Lower Sindh',
    headline: 'Flood warning for lower Sindh',
    scope: 'Public',
    ...fields,
  };
  return `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>${f.identifier}</identifier>
  <sender>${f.sender}</sender>
  <sent>${f.sent}</sent>
  <status>${f.status}</status>
  <msgType>${f.msgType}</msgType>
  <scope>${f.scope}</scope>${f.scope === 'Restricted' ? '\n  <restriction>Disaster management authorities only</restriction>' : ''}
  ${f.references ? `<references>${f.references}</references>` : ''}
  <info>
    <language>en-PK</language>
    <category>Met</category>
    <event>${f.event}</event>
    ${f.responseType ? `<responseType>${f.responseType}</responseType>` : ''}
    <urgency>${f.urgency}</urgency>
    <severity>${f.severity}</severity>
    <certainty>${f.certainty}</certainty>
    ${f.expires ? `<expires>${f.expires}</expires>` : ''}
    <headline>${f.headline}</headline>
    <area>
      <areaDesc>${f.areaDesc}</areaDesc>
      ${f.polygon ? `<polygon>${f.polygon}</polygon>` : ''}
      ${f.geocode ? `<geocode><valueName>${f.geocode.valueName}</valueName><value>${f.geocode.value}</value></geocode>` : ''}
    </area>
  </info>
</alert>`;
}

/** A rough box over lower Sindh (Thatta, Sujawal, Badin), in CAP's lat,lon order. */
export const LOWER_SINDH_POLYGON = '24.2,67.4 24.2,69.2 25.3,69.2 25.3,67.4 24.2,67.4';

/**
 * A Madad alert JSON message (server/alerts/parse/madad-json.ts): a flood warning from NDMA over Sindh,
 * unless `fields` say otherwise (given fields replace the defaults whole).
 */
export function madadAlert(fields: { identifier: string } & Record<string, unknown>): Record<string, unknown> {
  return {
    source: 'madad',
    sender: 'ndma.gov.pk',
    sent: '2026-08-26T09:00:00+05:00',
    status: 'Actual',
    msgType: 'Alert',
    hazard: 'flood',
    severity: 'Severe',
    urgency: 'Immediate',
    certainty: 'Likely',
    headline: 'Flood warning',
    area: { areaCodes: ['PK7'] },
    ...fields,
  };
}

/** The fields that make `madadAlert` an M6.9 quake with an orange PAGER alert: the earthquake rule fires on it. */
export const STRONG_QUAKE = { hazard: 'earthquake', certainty: 'Observed', headline: 'Strong earthquake', metrics: { magnitude: 6.9, pagerAlert: 'orange' } };
