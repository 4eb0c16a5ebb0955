/**
 * Jobs as a person reads them: a job's name in words ("Install Node.js", "Set up database
 * PostgreSQL"), a failure as a sentence with its place in the recipe kept apart for "Details",
 * in the page's language when the recipe threw it and says how, what Retry sends again (from the job's stored parameters, which never hold a secret), and the
 * job history's filter.
 */

import type { Job, JobStatus, Recipe } from './api';
import { saidOf, t } from './i18n.svelte';
import { recipeMessage } from './recipeText';

/** A failure as the page shows it: a sentence first, the recipe location behind "Details". */
export type Failure = { sentence: string; location: string };

// Jobs stored before the location became its own field carry it at the end of the message.
const TRAILING_LOCATION = / \(at ([^\s()]+:\d+)\)$/;

/**
 * A failure message as a sentence: capitalised, ending with a full stop, and without the
 * script location (given apart in `location`, or, for jobs stored by an earlier version, at the
 * end of the message). A sentence the recipe threw (`throw "…"`, as the engine sends it) is
 * shown in the page's language when the job's `recipe` translates it.
 */
export function failure(message: string, location?: string | null, recipe?: Recipe): Failure {
  let text = message.trim();
  let at = location ?? '';
  const old = TRAILING_LOCATION.exec(text);
  if (old) {
    text = text.slice(0, old.index);
    at ||= old[1];
  }
  text = recipeMessage(recipe, text);
  if (text) text = text[0].toUpperCase() + text.slice(1);
  if (text && !/[.!?…]$/.test(text)) text += '.';
  return { sentence: text, location: at };
}

/**
 * A stored job's failure, read from its terminal event (`result`), in the words of the job's
 * `recipe` when it threw it; null unless it failed.
 */
export function failureOf(job: Job, recipe?: Recipe): Failure | null {
  if (job.status === 'cancelled') return { sentence: t('job.cancelledSentence'), location: '' };
  if (job.status !== 'failed') return null;
  const r = job.result ?? {};
  const message = saidOf(r);
  const at = typeof r.location === 'string' ? r.location : '';
  return failure(message || t('card.failed'), at, recipe);
}

function backupAction(job: Job): string {
  const config = (job.params?.config ?? {}) as Record<string, unknown>;
  return typeof config.action === 'string' ? config.action : 'configure';
}

/** A job's name in words: what it does (or did, once it succeeded), to what. */
export function jobTitle(job: Job, recipeTitle: string): string {
  const done = job.status === 'succeeded';
  const name = { name: recipeTitle };
  // One of the recipe's declared actions: named as the recipe declares it.
  if (job.action) return t('jobWords.action', { ...name, action: job.action });
  switch (job.kind) {
    case 'INSTALL_RUNTIME':
      return t(done ? 'jobWords.installed' : 'jobWords.install', name);
    case 'CONFIGURE_DATABASE':
      return t('jobWords.database', name);
    case 'CONFIGURE_BACKUP': {
      const action = backupAction(job);
      if (action === 'run_now') return t(done ? 'jobWords.backedUp' : 'jobWords.backUp', name);
      if (action === 'restore_test')
        return t(done ? 'jobWords.restoreTested' : 'jobWords.restoreTest', name);
      return t(done ? 'jobWords.backupConfigured' : 'jobWords.backupConfigure', name);
    }
    case 'PLAN_REQUEST':
      return t('jobWords.preview', name);
  }
}

/**
 * Whether Retry makes sense for a job: it ended without success and was not a preview. An
 * action is run again from its card's Actions (a destructive one asks for its confirmation).
 */
export function retryable(job: Job): boolean {
  return (
    (job.status === 'failed' || job.status === 'cancelled') &&
    job.kind !== 'PLAN_REQUEST' &&
    !job.action
  );
}

/**
 * What Retry does for a job: preview the same command again, or (a backup's configuration,
 * whose secret fields were never stored) open its form filled with what was stored, so that the
 * secret is asked again. Null when the job did not keep its parameters.
 */
export type Retry =
  | {
      form: false;
      purpose: 'runtime' | 'database' | 'backup';
      payload: Record<string, unknown>;
      params: Record<string, unknown>;
    }
  | { form: true; purpose: 'backup'; values: Record<string, string> };

export function retryOf(job: Job): Retry | null {
  const p = job.params;
  if (!p || !retryable(job)) return null;
  const obj = (v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  switch (job.kind) {
    case 'INSTALL_RUNTIME': {
      const params = obj(p.params);
      const payload: Record<string, unknown> = { type: job.recipe };
      if (typeof p.version === 'string') payload.version = p.version;
      if (Object.keys(params).length > 0) payload.params = params;
      return { form: false, purpose: 'runtime', payload, params };
    }
    case 'CONFIGURE_DATABASE': {
      const dbName = String(p.dbName ?? '');
      const user = String(p.user ?? '');
      return {
        form: false,
        purpose: 'database',
        payload: { type: job.recipe, dbName, user },
        params: { db_name: dbName, user },
      };
    }
    case 'CONFIGURE_BACKUP': {
      const config = obj(p.config);
      const action = typeof config.action === 'string' ? config.action : 'configure';
      if (action === 'run_now' || action === 'restore_test') {
        return {
          form: false,
          purpose: 'backup',
          payload: { provider: job.recipe, config: { action } },
          params: { action },
        };
      }
      const values = Object.fromEntries(
        Object.entries(config)
          .filter(([k, v]) => k !== 'action' && typeof v === 'string')
          .map(([k, v]) => [k, v as string]),
      );
      return { form: true, purpose: 'backup', values };
    }
    default:
      return null;
  }
}

/**
 * The job history's filter. Previews are not jobs (never stored since they became plans); a
 * `PLAN_REQUEST` row that an older control plane stored is left out too: it changed nothing.
 */
export type JobFilter = {
  node: string;
  status: JobStatus | '';
  text: string;
};

export const NO_FILTER: JobFilter = { node: '', status: '', text: '' };

/** The jobs `filter` keeps; `words` gives the text a job is searched by (its name, node, …). */
export function filterJobs(jobs: Job[], filter: JobFilter, words: (j: Job) => string): Job[] {
  const needle = filter.text.trim().toLowerCase();
  return jobs.filter(
    (j) =>
      j.kind !== 'PLAN_REQUEST' &&
      (!filter.node || j.nodeId === filter.node) &&
      (!filter.status || j.status === filter.status) &&
      (!needle || words(j).toLowerCase().includes(needle)),
  );
}
