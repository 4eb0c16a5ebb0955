import { describe, expect, it } from 'vitest';
import {
  agoOf,
  drillView,
  checkPaths,
  checkSchedule,
  configOf,
  defaults,
  PLAN_PLACEHOLDER,
  planConfig,
  validate,
} from './backup';

describe('backup form validation (as recipes/rsync.rhai and s3.rhai check)', () => {
  it('accepts the defaults once the required fields are filled', () => {
    const rsync = { ...defaults('rsync'), target: 'backup@203.0.113.9:/srv/backups' };
    expect(validate('rsync', rsync, true)).toEqual({});
    const s3 = {
      ...defaults('s3'),
      bucket: 'my-backups',
      access_key_id: 'AKIAEXAMPLE123',
      secret_access_key: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCY',
    };
    expect(validate('s3', s3, true)).toEqual({});
  });

  it('requires the target, the bucket, and the S3 keys the first time only', () => {
    expect(Object.keys(validate('rsync', defaults('rsync'), true))).toEqual(['target']);
    expect(Object.keys(validate('s3', defaults('s3'), true)).sort()).toEqual([
      'access_key_id',
      'bucket',
      'secret_access_key',
    ]);
    // Configured already: empty keys keep the ones on the server.
    expect(Object.keys(validate('s3', defaults('s3'), false))).toEqual(['bucket']);
  });

  it('checks the rsync target form', () => {
    const bad = [
      'host:/srv',
      'backup@host:relative',
      'Backup@host:/srv',
      'backup@host:/srv;rm',
      'backup@ho st:/srv',
      '-oProxyCommand=x@h:/p',
    ];
    for (const target of bad) {
      expect(validate('rsync', { ...defaults('rsync'), target }, true).target, target).toEqual({
        key: 'backup.err.target',
      });
    }
    expect(
      validate('rsync', { ...defaults('rsync'), target: 'b_k.p-1@nas.lan:/srv/x_y/z.1' }, true),
    ).toEqual({});
  });

  it('checks port and retention ranges', () => {
    const v = (port: string, keep: string) =>
      validate('rsync', { ...defaults('rsync'), target: 'a@b:/c', port, keep }, true);
    expect(v('22', '7')).toEqual({});
    expect(v('0', '7').port?.key).toBe('backup.err.range');
    expect(v('65536', '7').port?.vars).toEqual({ min: 1, max: 65535 });
    expect(v('22', '366').keep?.vars).toEqual({ min: 1, max: 365 });
    expect(v('22', '0').keep).toBeTruthy();
    expect(v('22', '1.5').keep).toBeTruthy();
    expect(v('22', '-1').keep).toBeTruthy();
  });

  it('checks paths: one a line, absolute, spaces allowed, no . or .., 4096 at most', () => {
    expect(checkPaths('/etc\n/home\n/root')).toBeNull();
    expect(checkPaths('  /var/lib/app-data \n\n/srv/x_y.z\n')).toBeNull();
    expect(checkPaths('/home/My Files\n/srv/Été (2026)')).toBeNull();
    expect(checkPaths('etc')).not.toBeNull();
    expect(checkPaths('/etc\nhome')).not.toBeNull();
    expect(checkPaths('/etc/../root')).not.toBeNull();
    expect(checkPaths('/etc/./x')).not.toBeNull();
    expect(checkPaths('/etc;rm')).not.toBeNull();
    expect(checkPaths('/a"b')).not.toBeNull();
    expect(checkPaths('/')).not.toBeNull();
    expect(checkPaths('\n \n')).not.toBeNull();
    expect(checkPaths('/' + 'a'.repeat(4096))).toEqual({ key: 'backup.err.pathsLong' });
  });

  it('checks cron schedules: five fields, ranges, steps, no names', () => {
    for (const ok of [
      '0 3 * * *',
      '*/15 * * * *',
      '0 0-23/2 1,15 * 1-5',
      '59 23 31 12 7',
      '0  3 * * *',
    ]) {
      expect(checkSchedule(ok), ok).toBeNull();
    }
    for (const bad of [
      '@daily',
      '0 3 * *',
      '0 3 * * * *',
      '60 3 * * *',
      '0 24 * * *',
      '0 3 0 * *',
      '0 3 * 13 *',
      '0 3 * * 8',
      '*/0 * * * *',
      '0 3 * * mon',
      '0 3 * jan *',
      '0 3 * * ?',
    ]) {
      expect(checkSchedule(bad), bad).toEqual({ key: 'backup.err.schedule' });
    }
  });

  it('checks the S3 endpoint, bucket, region and keys', () => {
    const base = {
      ...defaults('s3'),
      bucket: 'bkt',
      access_key_id: 'AKIA1',
      secret_access_key: 'abcdefgh',
    };
    const v = (k: string, value: string) => validate('s3', { ...base, [k]: value }, true)[k];
    expect(v('endpoint', 'http://127.0.0.1:9000')).toBeUndefined();
    expect(v('endpoint', 'https://s3.example.com/')).toBeTruthy();
    expect(v('endpoint', 'https://s3.example.com/path')).toBeTruthy();
    expect(v('endpoint', 'ftp://s3.example.com')).toBeTruthy();
    expect(v('bucket', 'ab')).toBeTruthy();
    expect(v('bucket', 'My-Bucket')).toBeTruthy();
    expect(v('bucket', '-bucket')).toBeTruthy();
    expect(v('bucket', 'a'.repeat(64))).toBeTruthy();
    expect(v('bucket', 'my.bucket-1')).toBeUndefined();
    expect(v('region', 'eu_west')).toBeTruthy();
    expect(v('access_key_id', 'AKIA-1')).toBeTruthy();
    expect(v('secret_access_key', 'short')).toEqual({ key: 'backup.err.secretKey' });
    expect(v('secret_access_key', 'has space in it')).toBeTruthy();
    expect(v('secret_access_key', 'a/b+c=d.e_f-g')).toBeUndefined();
  });
});

describe('what a backup form sends', () => {
  it('sends every value as a string with action=configure, schedule spaces squashed', () => {
    const config = configOf('rsync', {
      ...defaults('rsync'),
      target: ' a@b:/c ',
      schedule: '0  3 * * *',
    });
    expect(config).toEqual({
      action: 'configure',
      target: 'a@b:/c',
      port: '22',
      // One a line, ending with a line break: one path with a space stays one path.
      paths: '/etc\n/home\n/root\n',
      schedule: '0 3 * * *',
      keep: '7',
      drill_schedule: '30 4 * * 0',
      drill_max_age_days: '8',
    });
    expect(configOf('rsync', { ...defaults('rsync'), paths: ' /srv/My Files ' }).paths).toBe(
      '/srv/My Files\n',
    );
  });

  it('leaves empty S3 keys out, and never puts the secret in a plan request', () => {
    const config = configOf('s3', { ...defaults('s3'), bucket: 'b1k', secret_access_key: '' });
    expect(config).not.toHaveProperty('secret_access_key');
    expect(config).not.toHaveProperty('access_key_id');
    const withSecret = configOf('s3', {
      ...defaults('s3'),
      bucket: 'b1k',
      secret_access_key: 'REALsecret/123',
    });
    expect(withSecret.secret_access_key).toBe('REALsecret/123');
    const plan = planConfig(withSecret);
    expect(plan.secret_access_key).toBe(PLAN_PLACEHOLDER);
    expect(JSON.stringify(plan)).not.toContain('REALsecret');
    expect(plan.bucket).toBe('b1k');
  });
});

describe('restore drills on the card', () => {
  const now = 1_800_000_000;
  const configured = { provider: 'rsync', configured: true } as const;

  it('is good while the last drill passed within its limit, bad once older or failed', () => {
    const drill = { schedule: '30 4 * * 0', maxAgeDays: 8, lastAt: now - 3 * 3600, lastOk: true };
    expect(drillView({ ...configured, drill }, now)?.state).toBe('ok');
    const old = { ...drill, lastAt: now - 9 * 86400 };
    expect(drillView({ ...configured, drill: old }, now)).toMatchObject({
      state: 'overdue',
      maxAgeDays: 8,
    });
    const failed = { ...drill, lastOk: false, lastError: '1 of 6 files differ' };
    expect(drillView({ ...configured, drill: failed }, now)).toMatchObject({
      state: 'failed',
      error: '1 of 6 files differ',
    });
    expect(drillView({ ...configured, drill: { maxAgeDays: 8 } }, now)?.state).toBe('never');
    expect(drillView({ provider: 'rsync', configured: false }, now)).toBeNull();
  });

  it('reads an agent without drills from its last restore test, and is never overdue there', () => {
    const v = drillView(
      { ...configured, lastRestoreTestAt: now - 30 * 86400, lastRestoreTestOk: true },
      now,
    );
    expect(v).toMatchObject({ state: 'ok', schedule: null, maxAgeDays: null });
  });

  it('says how long ago in the largest whole unit', () => {
    expect(agoOf(now - 20, now)).toEqual({ key: 'backup.ago.now', n: 0 });
    expect(agoOf(now - 5 * 60, now)).toEqual({ key: 'backup.ago.minutes', n: 5 });
    expect(agoOf(now - 3 * 3600 - 59, now)).toEqual({ key: 'backup.ago.hours', n: 3 });
    expect(agoOf(now - 9 * 86400, now)).toEqual({ key: 'backup.ago.days', n: 9 });
  });
});

describe('the Change form starts from the configuration', () => {
  it('fills every field from settings, paths one a line, and never a secret', () => {
    const v = defaults('s3', {
      provider: 's3',
      configured: true,
      schedule: '0 * * * *',
      settings: {
        paths: ['/srv/My Files', '/etc'],
        schedule: '0 * * * *',
        keep: 14,
        drillSchedule: '30 4 * * *',
        drillMaxAgeDays: 3,
        endpoint: 'http://127.0.0.1:9000',
        bucket: 'b1k',
        region: 'eu-west-1',
        accessKeyId: 'AKIA1',
      },
    });
    expect(v).toEqual({
      endpoint: 'http://127.0.0.1:9000',
      bucket: 'b1k',
      region: 'eu-west-1',
      access_key_id: 'AKIA1',
      secret_access_key: '',
      paths: '/srv/My Files\n/etc',
      schedule: '0 * * * *',
      keep: '14',
      drill_schedule: '30 4 * * *',
      drill_max_age_days: '3',
    });
  });

  it('leaves the drill schedule empty for a backup configured before drills', () => {
    const v = defaults('rsync', {
      provider: 'rsync',
      configured: true,
      settings: { paths: ['/etc'], target: 'a@b:/c', port: 2222 },
    });
    expect(v.drill_schedule).toBe('');
    expect(v.port).toBe('2222');
    expect(validate('rsync', v, false).drill_schedule).toEqual({
      key: 'backup.err.scheduleEmpty',
    });
  });
});
