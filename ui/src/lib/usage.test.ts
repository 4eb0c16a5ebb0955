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

describe('sizes and shares in the page language', () => {
  it('writes English and French as each writes numbers', async () => {
    const { formatBytes, formatPercent, locale } = await import('./i18n.svelte');
    locale.lang = 'en';
    expect(formatBytes(1.3 * 1024 ** 3)).toBe('1.3 GB');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatPercent(85)).toBe('85%');
    locale.lang = 'fr';
    expect(formatBytes(1.3 * 1024 ** 3)).toBe('1,3 Go');
    expect(formatBytes(252 * 1024 ** 3)).toBe('252 Go');
    expect(formatPercent(85)).toMatch(/^85\s%$/);
    locale.lang = 'en';
  });
});
