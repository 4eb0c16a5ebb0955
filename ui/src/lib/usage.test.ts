import { describe, expect, it } from 'vitest';
import { usedPercent } from './usage';

describe('usedPercent', () => {
  it('counts as df does: used over used plus available, rounded up', () => {
    // df: 252 GB size, 15 GB used, 225 GB available (12 GB reserved for root) → 7 %.
    const u = { totalBytes: 252e9, usedBytes: 15e9, availableBytes: 225e9 };
    expect(usedPercent(u)).toBe(7);
  });
  it('shows a disk whose only free blocks are reserved for root as full', () => {
    expect(usedPercent({ totalBytes: 100, usedBytes: 95, availableBytes: 0 })).toBe(100);
  });
  it('falls back to the total for an agent that sends no available figure', () => {
    expect(usedPercent({ totalBytes: 200, usedBytes: 50 })).toBe(25);
  });
  it('says nothing for an empty figure', () => {
    expect(usedPercent({ totalBytes: 0, usedBytes: 0 })).toBeNull();
  });
});
