import type { Random } from './random.ts';

/** Common given and family names in Pakistan, enough for readable synthetic registries. */
const MALE_NAMES = ['Muhammad', 'Ahmed', 'Ali', 'Hassan', 'Hussain', 'Bilal', 'Usman', 'Imran', 'Asif', 'Tariq',
  'Zahid', 'Khalid', 'Naveed', 'Shahid', 'Rashid', 'Abdul Ghafoor', 'Ghulam Rasool', 'Allah Ditta', 'Noor Muhammad',
  'Abdul Rehman', 'Faisal', 'Javed', 'Saleem', 'Waseem', 'Sajjad', 'Gul Khan', 'Sher Ali', 'Dost Muhammad'];
const FEMALE_NAMES = ['Fatima', 'Ayesha', 'Zainab', 'Maryam', 'Khadija', 'Rukhsana', 'Shazia', 'Nasreen', 'Parveen',
  'Razia', 'Samina', 'Naseem', 'Bushra', 'Kalsoom', 'Sakina', 'Hajra', 'Amina', 'Rabia', 'Saima', 'Gul Bano'];
const FAMILY_NAMES = ['Khan', 'Ahmed', 'Ali', 'Shah', 'Baloch', 'Bhutto', 'Memon', 'Soomro', 'Jatoi', 'Chandio',
  'Abbasi', 'Qureshi', 'Malik', 'Chaudhry', 'Butt', 'Rana', 'Awan', 'Gondal', 'Jutt', 'Mengal', 'Marri', 'Bugti',
  'Yousafzai', 'Afridi', 'Khattak', 'Mahsud', 'Durrani', 'Siddiqui', 'Ansari', 'Sheikh', 'Lashari', 'Magsi'];

/** First CNIC digit by province P-code, roughly as NADRA numbers them. */
const CNIC_PROVINCE_DIGIT: Record<string, string> = { PK1: '8', PK2: '5', PK3: '7', PK4: '6', PK5: '1', PK6: '3', PK7: '4' };

const BANK_CODES = ['HABB', 'MUCB', 'NBPA', 'UNIL', 'ABPA', 'BAHL', 'MEZN', 'SCBL'];

export function headName(rng: Random, female: boolean): string {
  return `${rng.pick(female ? FEMALE_NAMES : MALE_NAMES)} ${rng.pick(FAMILY_NAMES)}`;
}

/**
 * A 13-digit CNIC: province digit, 11 digits that are a bijection of the household's position
 * (so no two synthetic households share a CNIC), then a last digit odd for men and even for women,
 * as on real cards.
 */
export function cnic(rng: Random, provinceCode: string | undefined, position: number, seedOffset: bigint, female: boolean): string {
  const first = (provinceCode && CNIC_PROVINCE_DIGIT[provinceCode]) ?? String(1 + rng.int(8));
  // Multiplying by a number coprime with 10^11 permutes 0..10^11-1.
  const middle = ((BigInt(position) * 3141592653n + seedOffset) % 100000000000n).toString().padStart(11, '0');
  const last = 2 * rng.int(5) + (female ? 0 : 1);
  return `${first}${middle}${last}`;
}

/** Pakistani mobile number: 03, an operator digit 0-4, then 8 digits. */
export function mobile(rng: Random): string {
  return `03${rng.int(5)}${rng.digits(8)}`;
}

/** A Pakistani IBAN (PKkk BBBB 16 digits) with correct ISO 13616 check digits. */
export function iban(rng: Random): string {
  const bban = `${rng.pick(BANK_CODES)}${rng.digits(16)}`;
  const numeric = `${bban}PK00`.replace(/[A-Z]/g, (ch) => String(ch.charCodeAt(0) - 55));
  let rest = 0;
  for (const ch of numeric) rest = (rest * 10 + Number(ch)) % 97;
  return `PK${String(98 - rest).padStart(2, '0')}${bban}`;
}
