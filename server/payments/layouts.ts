/**
 * The payment file of each channel: its columns, in the order a bank, a wallet operator or a payment camp
 * reads them, and nothing more than the channel needs (a wallet file carries no CNIC, a bank file no
 * district). One header line, one line per instruction, and a trailer line with the count and the total.
 */
export const CHANNELS = ['biometric_cash', 'bank_transfer', 'mobile_wallet'] as const;
export type Channel = (typeof CHANNELS)[number];

/** What a file line is written from: the instruction and the frozen facts of its batch line. */
export interface InstructionLine {
  id: string;
  amountPkr: number;
  account: string | null;
  cnic: string;
  headName: string;
  district: string;
  tehsil: string;
}

interface Layout {
  /** What the channel is, for the README and the manifest. */
  title: string;
  columns: readonly string[];
  row(l: InstructionLine): readonly (string | number)[];
}

export const LAYOUTS: Record<Channel, Layout> = {
  biometric_cash: {
    title: 'cash against biometric verification of the CNIC, at a bank agent or a payment camp',
    columns: ['instruction_id', 'cnic', 'name', 'amount_pkr', 'district', 'tehsil'],
    row: (l) => [l.id, l.cnic, l.headName, l.amountPkr, l.district, l.tehsil],
  },
  bank_transfer: {
    title: 'credit to a bank account (IBAN)',
    columns: ['reference', 'account', 'title', 'amount_pkr'],
    row: (l) => [l.id, l.account ?? '', l.headName, l.amountPkr],
  },
  mobile_wallet: {
    title: 'credit to a mobile wallet (MSISDN)',
    columns: ['reference', 'msisdn', 'amount_pkr'],
    row: (l) => [l.id, l.account ?? '', l.amountPkr],
  },
};

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
const field = (v: string | number) => {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

export const csvLine = (values: readonly (string | number)[]) => `${values.map(field).join(',')}\r\n`;
export const headerLine = (channel: Channel) => csvLine(LAYOUTS[channel].columns);
export const trailerLine = (count: number, totalPkr: number) => csvLine(['TRAILER', count, totalPkr]);
