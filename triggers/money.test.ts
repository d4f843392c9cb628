import { describe, expect, it } from 'vitest';
import { approvalTier } from './approvals.ts';
import { benefitAmount, benefitInstalments, splitInstalments } from './benefit.ts';
import { dedupe } from './dedup.ts';
import { applyCeiling, resolvePayers, splitByShares } from './funding.ts';
import { netOff } from './net-off.ts';
import { makeRule } from './test-factories.ts';

const benefit = (b: Record<string, unknown>) => makeRule({ benefit: b }).benefit;

describe('benefit per household', () => {
  it.each([
    ['flat', { flat_pkr: 25000 }, 7, 25000],
    ['per member', { per_member_pkr: 1000 }, 4, 4000],
    ['per member, capped', { per_member_pkr: 1000, cap_pkr: 6000 }, 9, 6000],
    ['one regular Kafaalat quarter', { multiple_of_regular: { regular_pkr: 13500, multiple: 1 } }, 3, 13500],
    ['one and a half quarters', { multiple_of_regular: { regular_pkr: 13500, multiple: 1.5 } }, 3, 20250],
    ['a third of a quarter, rounded to the rupee', { multiple_of_regular: { regular_pkr: 1000, multiple: 1 / 3 } }, 3, 333],
  ])('%s', (_name, b, size, amount) => {
    expect(benefitAmount(benefit(b), { size })).toBe(amount);
  });

  it('instalments add up to the amount exactly, the remainder going to the first ones', () => {
    expect(splitInstalments(25000, 3)).toEqual([8334, 8333, 8333]);
    expect(splitInstalments(2, 3)).toEqual([1, 1, 0]);
    expect(benefitInstalments(benefit({ flat_pkr: 20000, instalments: 2 }), { size: 1 })).toEqual([10000, 10000]);
  });

  it('refuses money that is not whole rupees', () => {
    expect(() => splitInstalments(100.5, 2)).toThrow(RangeError);
    expect(() => splitInstalments(100, 0)).toThrow(RangeError);
  });
});

describe('net-off', () => {
  it.each([
    [25000, 0, 25000],
    [25000, 10000, 15000],
    [10000, 25000, 0],
    [10000, -500, 10000],
  ])('owed on %d after %d received: %d', (amount, received, owed) => {
    expect(netOff(amount, received)).toBe(owed);
  });
});

describe('cross-programme dedup for the same event and purpose', () => {
  it('drops a Sindh line for a household BISP already paid, and says BISP paid', () => {
    const r = dedupe(
      [
        { householdKey: '4210112345671', programme: 'SSPA', amount: 10000 },
        { householdKey: '4210176543219', programme: 'SSPA', amount: 10000 },
      ],
      [{ householdKey: '4210112345671', programme: 'BISP', amount: 25000 }],
    );
    expect(r.dropped).toEqual([
      expect.objectContaining({ householdKey: '4210112345671', paidBy: [{ programme: 'BISP', amount: 25000, inThisBatch: false }], text: 'already paid PKR 25,000 by BISP for this event and purpose' }),
    ]);
    expect(r.kept.map((l) => [l.householdKey, l.amount])).toEqual([['4210176543219', 10000]]);
  });

  it('nets a larger federal line against a smaller provincial payment', () => {
    const r = dedupe([{ householdKey: 'A', programme: 'BISP', amount: 25000 }], [{ householdKey: 'A', programme: 'SSPA', amount: 10000 }]);
    expect(r.kept).toEqual([expect.objectContaining({ amount: 15000, requested: 25000, text: 'PKR 15,000: PKR 25,000 less PKR 10,000 by SSPA' })]);
  });

  it('keeps the first of two lines for one household in the same batch', () => {
    const r = dedupe(
      [
        { householdKey: 'A', programme: 'BISP', amount: 25000 },
        { householdKey: 'A', programme: 'SSPA', amount: 10000 },
      ],
      [],
    );
    expect(r.kept.map((l) => l.programme)).toEqual(['BISP']);
    expect(r.dropped[0]?.text).toBe('already paid PKR 25,000 by BISP (this batch) for this event and purpose');
  });
});

describe('funding split and ceiling', () => {
  it('splits by largest remainder; ties go to the payer listed first', () => {
    const payers = [
      { agency: 'BISP', share_bp: 5000 },
      { agency: 'province', share_bp: 5000 },
    ];
    expect(splitByShares(25001, payers).map((p) => p.amount)).toEqual([12501, 12500]);
    const thirds = [
      { agency: 'A', share_bp: 3333 },
      { agency: 'B', share_bp: 3333 },
      { agency: 'C', share_bp: 3334 },
    ];
    // Exact shares 3.333, 3.333, 3.334: C has the largest remainder and gets the spare rupee.
    expect(splitByShares(10, thirds).map((p) => p.amount)).toEqual([3, 3, 4]);
    expect(splitByShares(70_000_000_001, [{ agency: 'BISP', share_bp: 10000 }])[0]!.amount).toBe(70_000_000_001);
  });

  it('refuses shares that do not add up to 10000', () => {
    expect(() => splitByShares(100, [{ agency: 'A', share_bp: 9999 }])).toThrow(/10000/);
  });

  it('resolves the household-province payer to the household province', () => {
    const payers = makeRule({
      funding: {
        ceiling_pkr: 1,
        payers: [
          { agency: 'BISP', jurisdiction: 'federal', share_bp: 5000 },
          { agency: 'provincial-government', jurisdiction: 'household-province', share_bp: 5000 },
        ],
      },
    }).funding.payers;
    expect(resolvePayers(payers, 'PK5').map((p) => p.jurisdiction)).toEqual(['federal', 'PK5']);
    expect(() => resolvePayers(payers, 'KP')).toThrow(RangeError);
  });

  it('cuts the lines past the ceiling, in order, and reports the headroom', () => {
    const lines = [25000, 25000, 25000, 10000].map((amount, i) => ({ id: i, amount }));
    const r = applyCeiling(lines, 100_000, 30_000);
    expect(r.accepted.map((l) => l.id)).toEqual([0, 1]);
    // Line 3 (PKR 10,000) would still fit, but it does not jump the queue past the line that did not.
    expect(r.cut.map((l) => l.id)).toEqual([2, 3]);
    expect(r).toMatchObject({ headroomBefore: 70_000, headroomAfter: 20_000, acceptedPkr: 50_000, cutPkr: 35_000 });
    expect(r.text).toBe('2 lines (PKR 35,000) cut: the ceiling of PKR 100,000 leaves PKR 70,000 of headroom, PKR 50,000 used by 2 lines');
  });

  it('a ceiling already passed (it was lowered) leaves no headroom', () => {
    expect(applyCeiling([{ amount: 1 }], 100, 150)).toMatchObject({ headroomBefore: 0, accepted: [], cutPkr: 1 });
  });
});

describe('approval tiers', () => {
  const tiers = makeRule({
    approvals: [
      { up_to_pkr: 1_000_000_000, roles: ['program_manager'], jurisdiction: 'payer' },
      { roles: ['program_manager', 'finance_officer'], jurisdiction: 'federal' },
    ],
  }).approvals;
  it('up_to_pkr is inclusive; above it the next tier applies', () => {
    expect(approvalTier(tiers, 1_000_000_000).roles).toEqual(['program_manager']);
    expect(approvalTier(tiers, 1_000_000_001).text).toBe('PKR 1,000,000,001 (any amount) needs program_manager and finance_officer (federal jurisdiction)');
  });
});
