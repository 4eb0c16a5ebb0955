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

export type FieldKind = 'text' | 'secret' | 'integer' | 'schedule' | 'lines';

export type Field = {
  key: string;
  kind: FieldKind;
  default: string;
  /** Required on every configure, or only on the first one (S3 keys: empty keeps the stored). */
  required?: 'always' | 'first';
  placeholder?: string;
};

const COMMON: Field[] = [
  { key: 'paths', kind: 'lines', default: '/etc\n/home\n/root', required: 'always' },
  { key: 'schedule', kind: 'schedule', default: '0 3 * * *', required: 'always' },
  { key: 'keep', kind: 'integer', default: '7' },
  { key: 'drill_schedule', kind: 'schedule', default: '30 4 * * 0', required: 'always' },
  { key: 'drill_max_age_days', kind: 'integer', default: '8' },
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

/** The restore drill's schedules offered by name (weekly is the recipes' default). */
export const DRILL_SCHEDULES = {
  weekly: '30 4 * * 0',
  daily: '30 4 * * *',
} as const;

/** The named schedules of a schedule field. */
export function presetsOf(key: string): Record<string, string> {
  return key === 'drill_schedule' ? DRILL_SCHEDULES : SCHEDULES;
}

export function isProvider(id: string): id is Provider {
  return id === 'rsync' || id === 's3';
}

/**
 * The form's starting values: the recipe's defaults, then what the server reports of the
 * current configuration (`settings`; never a secret, which stays empty: an empty secret keeps
 * the stored one).
 */
export function defaults(provider: Provider, current?: BackupStatus): Record<string, string> {
  const v = Object.fromEntries(FIELDS[provider].map((f) => [f.key, f.default]));
  if (current?.schedule) v.schedule = current.schedule;
  const s = current?.configured ? current.settings : undefined;
  if (s) {
    const known: Record<string, string | number | null | undefined> = {
      schedule: s.schedule,
      keep: s.keep,
      drill_schedule: s.drillSchedule,
      drill_max_age_days: s.drillMaxAgeDays,
      target: s.target,
      port: s.port,
      endpoint: s.endpoint,
      bucket: s.bucket,
      region: s.region,
      access_key_id: s.accessKeyId,
    };
    for (const f of FIELDS[provider]) {
      const value = known[f.key];
      if (value != null && !SECRET_KEYS.has(f.key)) v[f.key] = String(value);
    }
    if (s.paths?.length) v.paths = s.paths.join('\n');
    // Configured before drills existed: none is scheduled, and the form says so by an empty
    // field rather than pretending the default is in place.
    if (s.drillSchedule == null) v.drill_schedule = '';
  }
  return v;
}

/** What is wrong with one field: an i18n key and its variables, or null. */
export type Problem = { key: ProblemKey; vars?: Record<string, string | number> } | null;
export type ProblemKey =
  | 'backup.err.required'
  | 'backup.err.paths'
  | 'backup.err.pathsLong'
  | 'backup.err.schedule'
  | 'backup.err.scheduleEmpty'
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

/** The paths of the field: one a line, blanks around each and empty lines left out. */
export function pathLines(v: string): string[] {
  return v
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/**
 * Absolute paths, one a line (spaces allowed, as the recipes' `backup_paths` takes them:
 * letters, digits, spaces and . _ - + @ / , = : ~ ( ) &), no `.` or `..` component, at most
 * 4096 characters.
 */
export function checkPaths(v: string): Problem {
  if (v.length > 4096) return { key: 'backup.err.pathsLong' };
  const paths = pathLines(v);
  const ok = paths.every(
    (p) =>
      /^\/[\p{L}\p{N}._/ ,=:~()&+@-]*$/u.test(p) &&
      p.replace(/\/+$/, '') !== '' &&
      p
        .split('/')
        .slice(1)
        .every((c) => c !== '.' && c !== '..'),
  );
  return paths.length && ok ? null : { key: 'backup.err.paths' };
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
      if (f.kind === 'schedule') {
        // Never replaced by a default: the person chooses one.
        p = { key: 'backup.err.scheduleEmpty' };
      } else if (f.required === 'always' || (f.required === 'first' && firstTime)) {
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
    case 'drill_schedule':
      return checkSchedule(v);
    case 'keep':
      return integer(v, 1, 365);
    case 'drill_max_age_days':
      return integer(v, 1, 366);
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

/**
 * The `config` a configure sends: every field as typed (empty S3 keys keep the stored ones).
 * Paths go one a line and end with a line break, so that one path holding a space is not read
 * as several (the recipes read a value without a line break as space-separated paths).
 */
export function configOf(provider: Provider, values: Record<string, string>) {
  const config: Record<string, string> = { action: 'configure' };
  for (const f of FIELDS[provider]) {
    const v = (values[f.key] ?? '').trim();
    if (v === '') continue;
    if (f.kind === 'lines') config[f.key] = pathLines(v).join('\n') + '\n';
    else config[f.key] = f.kind === 'schedule' ? squash(v) : v;
  }
  return config;
}

function squash(v: string) {
  return v.split(/ +/).join(' ');
}

/** What the card says about the restore drills: the last verified restore and whether it is bad. */
export type DrillView = {
  /** Unix seconds of the last restore test, if any. */
  lastAt: number | null;
  state: 'ok' | 'failed' | 'overdue' | 'never';
  /** failed: the recipe's sentence; overdue: the limit in days. */
  error: string;
  maxAgeDays: number | null;
  schedule: string | null;
};

/**
 * The drill line of a configured backup at `now` (Unix seconds): bad when the last restore
 * test failed, when it is older than `drill_max_age_days`, or when none ever passed.
 */
export function drillView(info: BackupStatus | undefined, now: number): DrillView | null {
  if (!info?.configured) return null;
  const d = info.drill;
  const lastAt = d?.lastAt ?? info.lastRestoreTestAt ?? null;
  const lastOk = d?.lastOk ?? info.lastRestoreTestOk ?? null;
  const maxAgeDays = d?.maxAgeDays ?? null;
  const base = { lastAt, maxAgeDays, schedule: d?.schedule ?? null, error: '' };
  if (lastAt == null) return { ...base, state: 'never' };
  if (lastOk === false) return { ...base, state: 'failed', error: d?.lastError ?? '' };
  if (maxAgeDays != null && now - lastAt > maxAgeDays * 86400) return { ...base, state: 'overdue' };
  return { ...base, state: lastOk ? 'ok' : 'never' };
}

/** "3 h ago" and the like: the largest whole unit, as an i18n key and its count. */
export function agoOf(then: number, now: number): { key: AgoKey; n: number } {
  const s = Math.max(0, now - then);
  if (s < 60) return { key: 'backup.ago.now', n: 0 };
  if (s < 3600) return { key: 'backup.ago.minutes', n: Math.floor(s / 60) };
  if (s < 86400) return { key: 'backup.ago.hours', n: Math.floor(s / 3600) };
  return { key: 'backup.ago.days', n: Math.floor(s / 86400) };
}
export type AgoKey =
  'backup.ago.now' | 'backup.ago.minutes' | 'backup.ago.hours' | 'backup.ago.days';
