/**
 * Personal data classes. Identity fields (CNIC, names, phone, payment account) go only to roles whose work
 * needs them (IDENTITY_ROLES), within their jurisdiction, and each such read is audited. Everyone else,
 * responders first, gets a pseudonymous household id, location, household size and vulnerability flags.
 */

/** `3520212345673` → `35202-*****-3`: enough to tell records apart on a list, not enough to misuse. */
export function maskCnic(cnic: string): string {
  const digits = cnic.replace(/\D/g, '');
  if (digits.length !== 13) return '*****-*******-*';
  return `${digits.slice(0, 5)}-*****-${digits.slice(12)}`;
}
