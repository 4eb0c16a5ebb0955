/**
 * The backup forms (rsync, S3): their fields, defaults and validation, as the backup recipes
 * check them (`recipes/rsync.rhai`, `recipes/s3.rhai`; the contract is the `CONFIGURE_BACKUP`
 * section of docs/api.md). Every value travels as a string. The server checks again; these
 * checks only spare a round trip and say what is wrong next to the field.
 */

import type { BackupConfigured, BackupInfo } from './protocol.generated';

export type Provider = 'rsync' | 's3';
export type BackupAction = 'configure' | 'run_now' | 'restore_test';

/** A node's backup as its status reports it (with the restore-test fields). */
export type BackupStatus = BackupInfo;
/** The terminal event of a backup job. */
export type BackupResult = BackupConfigured;

export type FieldKind = 'text' | 'secret' | 'integer' | 'schedule';

export type Field = {
  key: string;
  kind: FieldKind;
  default: string;
  /** Required on every configure, or only on the first one (S3 keys: empty keeps the stored). */
  required?: 'always' | 'first';
  placeholder?: string;
};

const COMMON: Field[] = [
  { key: 'paths', kind: 'text', default: '/etc /home /root' },
  { key: 'schedule', kind: 'schedule', default: '0 3 * * *' },
  { key: 'keep', kind: 'integer', default: '7' },
];

export const FIELDS: Record<Provider, Field[]> = {
  rsync: [
    {
      key: 'target',
      kind: 'text',
      default: '',
      required: 'always',
      placeholder: 'backup@203.0.113.9:/srv/backups',
    },
    { key: 'port', kind: 'integer', default: '22' },
    ...COMMON,
  ],
  s3: [
    { key: 'endpoint', kind: 'text', default: 'https://s3.amazonaws.com' },
    { key: 'bucket', kind: 'text', default: '', required: 'always', placeholder: 'my-backups' },
    { key: 'region', kind: 'text', default: 'us-east-1' },
    { key: 'access_key_id', kind: 'text', default: '', required: 'first' },
    { key: 'secret_access_key', kind: 'secret', default: '', required: 'first' },
    ...COMMON,
  ],
};

/** The keys whose values are secrets: never shown, never kept after sending. */
export const SECRET_KEYS = new Set(['secret_access_key']);

/** Schedules offered by name; anything else is entered as a cron expression. */
export const SCHEDULES = {
  daily: '0 3 * * *',
  hourly: '0 * * * *',
  weekly: '0 3 * * 0',
} as const;

export function isProvider(id: string): id is Provider {
  return id === 'rsync' || id === 's3';
}

export function defaults(provider: Provider, current?: BackupStatus): Record<string, string> {
  const v = Object.fromEntries(FIELDS[provider].map((f) => [f.key, f.default]));
  if (current?.schedule) v.schedule = current.schedule;
  return v;
}

/** What is wrong with one field: an i18n key and its variables, or null. */
export type Problem = { key: ProblemKey; vars?: Record<string, string | number> } | null;
export type ProblemKey =
  | 'backup.err.required'
  | 'backup.err.paths'
  | 'backup.err.pathsLong'
  | 'backup.err.schedule'
  | 'backup.err.range'
  | 'backup.err.target'
  | 'backup.err.endpoint'
  | 'backup.err.bucket'
  | 'backup.err.region'
  | 'backup.err.accessKey'
  | 'backup.err.secretKey';

const TARGET = /^[a-z_][a-z0-9_.-]*@[A-Za-z0-9.-]+:\/[A-Za-z0-9._/-]+$/;
const ENDPOINT = /^https?:\/\/[A-Za-z0-9][A-Za-z0-9.-]*(:[0-9]{1,5})?$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[a-z0-9-]{1,32}$/;
const ACCESS_KEY = /^[A-Za-z0-9]{0,128}$/;
const SECRET_KEY = /^[A-Za-z0-9/+=._-]{8,256}$/;

function integer(v: string, min: number, max: number): Problem {
  if (!/^[0-9]{1,6}$/.test(v) || Number(v) < min || Number(v) > max) {
    return { key: 'backup.err.range', vars: { min, max } };
  }
  return null;
}

/** Space-separated absolute paths, no `.` or `..` component, at most 1024 characters. */
export function checkPaths(v: string): Problem {
  if (v.length > 1024) return { key: 'backup.err.pathsLong' };
  const paths = v.trim().split(/ +/);
  const ok = paths.every(
    (p) =>
      /^\/[A-Za-z0-9._/-]*$/.test(p) &&
      p
        .split('/')
        .slice(1)
        .every((c) => c !== '.' && c !== '..'),
  );
  return v.trim() && ok ? null : { key: 'backup.err.paths' };
}

const CRON_RANGES: [number, number][] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];

/** Five cron fields of `0-9 * / , -` only, numbers in range, steps of at least 1. */
export function checkSchedule(v: string): Problem {
  const fields = v.trim().split(/ +/);
  const bad = { key: 'backup.err.schedule' } as const;
  if (fields.length !== 5) return bad;
  for (let i = 0; i < 5; i++) {
    const [min, max] = CRON_RANGES[i];
    for (const item of fields[i].split(',')) {
      const m = /^(\*|[0-9]+(?:-[0-9]+)?)(?:\/([0-9]+))?$/.exec(item);
      if (!m) return bad;
      if (m[2] !== undefined && Number(m[2]) < 1) return bad;
      if (m[1] !== '*') {
        for (const n of m[1].split('-').map(Number)) if (n < min || n > max) return bad;
      }
    }
  }
  return null;
}

/**
 * Every field's problem for `configure` (`firstTime`: the backup is not configured yet, so the
 * S3 keys are required). Returns only the fields that have one.
 */
export function validate(
  provider: Provider,
  values: Record<string, string>,
  firstTime: boolean,
): Record<string, NonNullable<Problem>> {
  const out: Record<string, NonNullable<Problem>> = {};
  for (const f of FIELDS[provider]) {
    const v = (values[f.key] ?? '').trim();
    let p: Problem = null;
    if (v === '') {
      if (f.required === 'always' || (f.required === 'first' && firstTime)) {
        p = { key: 'backup.err.required' };
      }
    } else {
      p = check(f.key, v);
    }
    if (p) out[f.key] = p;
  }
  return out;
}

function check(key: string, v: string): Problem {
  switch (key) {
    case 'paths':
      return checkPaths(v);
    case 'schedule':
      return checkSchedule(v);
    case 'keep':
      return integer(v, 1, 365);
    case 'port':
      return integer(v, 1, 65535);
    case 'target':
      return TARGET.test(v) ? null : { key: 'backup.err.target' };
    case 'endpoint':
      return ENDPOINT.test(v) ? null : { key: 'backup.err.endpoint' };
    case 'bucket':
      return BUCKET.test(v) ? null : { key: 'backup.err.bucket' };
    case 'region':
      return REGION.test(v) ? null : { key: 'backup.err.region' };
    case 'access_key_id':
      return ACCESS_KEY.test(v) ? null : { key: 'backup.err.accessKey' };
    case 'secret_access_key':
      return SECRET_KEY.test(v) ? null : { key: 'backup.err.secretKey' };
    default:
      return null;
  }
}

/** Stands for a secret in a plan request: the real one travels once, with the job itself. */
export const PLAN_PLACEHOLDER = 'not-the-real-key-in-a-plan';

/** The parameters of the plan request for `config`: its secrets replaced by the placeholder. */
export function planConfig(config: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config).map(([k, v]) => [k, SECRET_KEYS.has(k) && v ? PLAN_PLACEHOLDER : v]),
  );
}

/** The `config` a configure sends: every field as typed (empty S3 keys keep the stored ones). */
export function configOf(provider: Provider, values: Record<string, string>) {
  const config: Record<string, string> = { action: 'configure' };
  for (const f of FIELDS[provider]) {
    const v = (values[f.key] ?? '').trim();
    if (v !== '') config[f.key] = f.key === 'paths' || f.key === 'schedule' ? squash(v) : v;
  }
  return config;
}

function squash(v: string) {
  return v.split(/ +/).join(' ');
}
