/** "PKR 25,000": amounts as the people approving them read them, independent of the host's locale. */
export function pkrText(amount: number): string {
  const sign = amount < 0 ? '-' : '';
  return `PKR ${sign}${String(Math.abs(amount)).replace(/\B(?=(\d{3})+(?!\d))/g, ',')}`;
}
