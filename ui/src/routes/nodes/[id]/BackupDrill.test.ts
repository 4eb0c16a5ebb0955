import { flushSync, mount, unmount } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { BackupStatus } from '$lib/backup';
import BackupDrill from './BackupDrill.svelte';

let component: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
});

function render(info: BackupStatus) {
  const target = document.createElement('dl');
  document.body.appendChild(target);
  component = mount(BackupDrill, { target, props: { info } });
  flushSync();
  return target.querySelector('[data-testid="drill"]') as HTMLElement;
}

const now = () => Math.floor(Date.now() / 1000);

describe('BackupDrill (the card’s last verified restore)', () => {
  it('says how long ago the last drill passed, and its schedule, not in red', () => {
    const el = render({
      provider: 'rsync',
      configured: true,
      drill: { schedule: '30 4 * * 0', maxAgeDays: 8, lastAt: now() - 3 * 3600 - 60, lastOk: true },
    });
    expect(el.textContent).toContain('Last verified restore');
    expect(el.textContent).toContain('3 h ago');
    expect(el.textContent).toContain('Restore drills: 30 4 * * 0');
    expect(el.classList.contains('state-bad')).toBe(false);
  });

  it('turns red and says why when the last drill failed', () => {
    const el = render({
      provider: 'rsync',
      configured: true,
      drill: {
        schedule: '* * * * *',
        maxAgeDays: 8,
        lastAt: now() - 120,
        lastOk: false,
        lastError: 'the restore test of snapshot X failed: 1 of 6 files differ or are missing',
      },
    });
    expect(el.classList.contains('state-bad')).toBe(true);
    expect(el.dataset.state).toBe('failed');
    expect(el.textContent).toContain(
      'The last restore drill failed: the restore test of snapshot X',
    );
  });

  it('turns red and says so when the last verified restore is older than its limit', () => {
    const el = render({
      provider: 's3',
      configured: true,
      drill: { schedule: '30 4 * * 0', maxAgeDays: 8, lastAt: now() - 10 * 86400, lastOk: true },
    });
    expect(el.classList.contains('state-bad')).toBe(true);
    expect(el.textContent).toContain('10 days ago');
    expect(el.textContent).toContain('no restore verified in the last 8 days');
  });
});
