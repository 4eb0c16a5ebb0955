import { describe, expect, it } from 'vitest';
import type { BackupStatus } from './backup';
import { defaultRestoreDir, durationText, keepOf, retentionKey } from './snapshots';

const info = (extra: object): BackupStatus =>
  ({ provider: 'rsync', configured: true, ...extra }) as BackupStatus;

describe('snapshot history', () => {
  it('reads keep from settings and says nothing without them', () => {
    expect(keepOf(info({ settings: { keep: 7 } }))).toBe(7);
    expect(keepOf(info({ settings: { keep: '14' } }))).toBe(14);
    expect(keepOf(info({}))).toBeNull();
    expect(keepOf(info({ settings: { keep: 'x' } }))).toBeNull();
    expect(keepOf(undefined)).toBeNull();
  });

  it('words the retention per provider', () => {
    expect(retentionKey('rsync')).toBe('backup.snap.keepRsync');
    expect(retentionKey('s3')).toBe('backup.snap.keepS3');
  });

  it('writes durations as people read them', () => {
    expect(durationText(0)).toBe('0 s');
    expect(durationText(42)).toBe('42 s');
    expect(durationText(185)).toBe('3 min 5 s');
    expect(durationText(3720)).toBe('1 h 2 min');
  });

  it('restores into the recipes’ default folder', () => {
    expect(defaultRestoreDir('s3', 'a1b2c3d4')).toBe('/var/lib/cairn/restores/s3-a1b2c3d4');
  });
});
