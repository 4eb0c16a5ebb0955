import { describe, expect, it } from 'vitest';
import {
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

  it('checks paths: absolute, no . or .., allowed characters, 1024 at most', () => {
    expect(checkPaths('/etc /home /root')).toBeNull();
    expect(checkPaths('/var/lib/app-data /srv/x_y.z')).toBeNull();
    expect(checkPaths('etc')).not.toBeNull();
    expect(checkPaths('/etc/../root')).not.toBeNull();
    expect(checkPaths('/etc/./x')).not.toBeNull();
    expect(checkPaths('/home/my files')).not.toBeNull(); // "files" is not absolute
    expect(checkPaths('/etc;rm')).not.toBeNull();
    expect(checkPaths('/' + 'a'.repeat(1024))).toEqual({ key: 'backup.err.pathsLong' });
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
      paths: '/etc /home /root',
      schedule: '0 3 * * *',
      keep: '7',
    });
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
