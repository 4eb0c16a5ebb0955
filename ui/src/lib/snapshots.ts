/**
 * The backup card's snapshot history (issue 18): the retention in words from the backup's
 * `keep` setting, and a backup's duration as people read it. The snapshots themselves come
 * from the recipe's detect() (`BackupInfo.snapshots`, newest first, at most 50).
 */

import type { BackupStatus, Provider } from './backup';

/** The i18n key of what the retention keeps: rsync keeps N snapshots, restic one a day. */
export function retentionKey(provider: Provider): 'backup.snap.keepRsync' | 'backup.snap.keepS3' {
  return provider === 'rsync' ? 'backup.snap.keepRsync' : 'backup.snap.keepS3';
}

/**
 * The backup's `keep`, from `settings` when the status has them (the Change form's fields),
 * else null: the page then says nothing about the retention rather than a guess.
 */
export function keepOf(info: BackupStatus | undefined): number | null {
  const settings = (info as { settings?: { keep?: unknown } } | undefined)?.settings;
  const n = Number(settings?.keep);
  return Number.isInteger(n) && n > 0 ? n : null;
}

/** Seconds as "0 s", "42 s", "3 min 5 s", "1 h 2 min". */
export function durationText(secs: number): string {
  const s = Math.max(0, Math.round(secs));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** The folder a restore goes into when none is given (the recipes' default). */
export function defaultRestoreDir(provider: Provider, snapshot: string): string {
  return `/var/lib/cairn/restores/${provider}-${snapshot}`;
}
