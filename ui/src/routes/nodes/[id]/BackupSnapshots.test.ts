import { flushSync, mount, unmount } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BackupStatus, Provider } from '$lib/backup';
import BackupSnapshots from './BackupSnapshots.svelte';

let component: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
});

const info = (extra: object = {}): BackupStatus =>
  ({
    provider: 'rsync',
    configured: true,
    snapshots: [
      { id: '20261205T030000Z', time: 1764903600, sizeBytes: 2048, files: 12, durationS: 185 },
      { id: '20261204T030000Z', time: 1764817200, sizeBytes: 1024, files: 11, durationS: 4 },
    ],
    ...extra,
  }) as BackupStatus;

function render(provider: Provider, status: BackupStatus, online = true) {
  const onrestore = vi.fn();
  const target = document.createElement('div');
  document.body.appendChild(target);
  component = mount(BackupSnapshots, {
    target,
    props: { provider, info: status, online, onrestore },
  });
  flushSync();
  return { target, onrestore };
}

describe('BackupSnapshots', () => {
  it('lists each snapshot newest first with its size, files and duration', () => {
    const { target } = render('rsync', info());
    const rows = [...target.querySelectorAll('tbody tr')];
    expect(rows.map((r) => r.getAttribute('data-snapshot'))).toEqual([
      '20261205T030000Z',
      '20261204T030000Z',
    ]);
    const cells = [...rows[0].querySelectorAll('td')].map((c) => c.textContent?.trim());
    expect(cells.slice(1, 4)).toEqual(['2.0 KB', '12', '3 min 5 s']);
  });

  it('Restore… names its snapshot, and is off while the node is offline', () => {
    const { target, onrestore } = render('rsync', info());
    const buttons = target.querySelectorAll<HTMLButtonElement>('tbody button');
    buttons[1].click();
    expect(onrestore).toHaveBeenCalledWith('20261204T030000Z');
    unmount(component!);
    component = null;
    document.body.innerHTML = '';
    const off = render('rsync', info(), false);
    expect(off.target.querySelector<HTMLButtonElement>('tbody button')!.disabled).toBe(true);
  });

  it('says what the retention keeps only when the settings give keep', () => {
    expect(render('rsync', info()).target.querySelector('[data-testid=retention]')).toBeNull();
    unmount(component!);
    component = null;
    const rsync = render('rsync', info({ settings: { keep: 7 } }));
    expect(rsync.target.querySelector('[data-testid=retention]')?.textContent).toContain(
      'last 7 snapshots',
    );
    unmount(component!);
    component = null;
    const s3 = render('s3', info({ provider: 's3', settings: { keep: 30 } }));
    expect(s3.target.querySelector('[data-testid=retention]')?.textContent).toContain(
      'one snapshot a day for 30 days',
    );
  });

  it('shows nothing for a backup that is not configured', () => {
    const { target } = render('rsync', info({ configured: false }));
    expect(target.querySelector('[data-testid=snapshots]')).toBeNull();
  });
});
