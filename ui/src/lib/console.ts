/**
 * The console's lines: job events turned into rows. Output rows (`kind: 'output'`) come from
 * commands and are always drawn as output, whatever they say; event rows (`kind: 'event'`) are
 * written by the dashboard itself from terminal events, so a command cannot print one.
 */

import { ansiToLines, ansiToRows, type Segment } from './ansi';
import type { Recipe } from './api';
import { saidOf, t } from './i18n.svelte';
import { failure } from './jobs';
import { recipeMessage, stepTitle } from './recipeText';

export type RowTone = 'stdout' | 'stderr' | 'info' | 'warn' | 'command' | 'step' | 'ok' | 'fail';

export type ConsoleLine = {
  key: number;
  jobId: string;
  kind: 'output' | 'event';
  tone: RowTone;
  segments: Segment[];
  /** A carriage return overwrote part of this row (a progress line): it shows its last state. */
  rewritten?: boolean;
};

/** Longest console kept in memory; older rows drop off the top. */
export const MAX_LINES = 5000;

/** Most rows the console puts in the page at once (the latest ones). */
export const RENDER_MAX = 500;

let nextKey = 1;

const STREAMS = new Set(['stdout', 'stderr', 'info', 'warn', 'command']);

function eventRow(jobId: string, tone: RowTone, text: string): ConsoleLine {
  // Event text can carry recipe or agent words: it goes through the same inert parsing, but
  // flattened to one row so it cannot start a fake row of its own.
  const segments = ansiToLines(text).flatMap((l, i) =>
    i === 0 ? l : [{ text: ' ⏎ ', cls: 'inert' }, ...l],
  );
  return { key: nextKey++, jobId, kind: 'event', tone, segments };
}

/** A job's successful ends, one per category of recipe. */
const ENDS = new Set(['RUNTIME_INSTALLED', 'DATABASE_CONFIGURED', 'BACKUP_CONFIGURED']);

/**
 * The rows one job event adds (none for progress, which the cards show). `recipe` is the job's
 * recipe, whose own translations turn its steps and its lines into the page's language.
 */
export function rowsForEvent(
  type: string,
  jobId: string,
  payload: Record<string, unknown>,
  recipe?: Recipe,
  /** The recipe's declared action the job ran: its end says so, not that it installed. */
  action?: string,
): ConsoleLine[] {
  const str = (k: string) => (typeof payload[k] === 'string' ? (payload[k] as string) : '');
  if (action && ENDS.has(type)) {
    const words = { name: recipe?.id ?? '', action };
    return [
      payload.success
        ? eventRow(jobId, 'ok', t('console.actionOk', words))
        : eventRow(jobId, 'fail', t('console.actionFail', words)),
    ];
  }
  switch (type) {
    case 'INFRASTRUCTURE_LOG': {
      const stream = STREAMS.has(str('stream')) ? (str('stream') as RowTone) : 'stdout';
      // A command's echo is Cairn's own line: a `\r` in an argument is shown, not obeyed.
      const overwrite = stream !== 'command';
      // The recipe's own lines (`log`, `warn`) may have words of the page's language; a
      // command's output is the program's and stays as it printed it.
      // The agent's and the engine's own lines come with the code of their sentence.
      const own = stream === 'info' || stream === 'warn';
      const text = !own
        ? str('message')
        : payload.messageCode
          ? saidOf(payload)
          : recipeMessage(recipe, str('message'));
      return ansiToRows(text, { overwrite }).map(({ segments, rewritten }) => ({
        key: nextKey++,
        jobId,
        kind: 'output',
        tone: stream,
        segments,
        rewritten,
      }));
    }
    case 'JOB_STARTED':
      return [
        eventRow(
          jobId,
          'step',
          t('console.started', {
            recipe: str('recipeId'),
            version: String(payload.recipeVersion ?? ''),
          }),
        ),
      ];
    case 'JOB_STEP':
      return [eventRow(jobId, 'step', stepTitle(recipe, str('title')))];
    case 'JOB_TIMINGS':
      // Not a console line: the job's page shows it, folded (`JobTimings.svelte`).
      return [];
    case 'RUNTIME_INSTALLED':
      return [
        payload.success
          ? eventRow(
              jobId,
              'ok',
              t('console.runtimeOk', { name: str('type'), version: str('version') }),
            )
          : eventRow(jobId, 'fail', t('console.runtimeFail', { name: str('type') })),
      ];
    case 'DATABASE_CONFIGURED':
      // The connection string is never written to the console: only the card reveals it.
      return [
        payload.success
          ? eventRow(jobId, 'ok', t('console.databaseOk', { name: str('type') }))
          : eventRow(jobId, 'fail', t('console.databaseFail', { name: str('type') })),
      ];
    case 'BACKUP_CONFIGURED':
      return [
        payload.success
          ? eventRow(jobId, 'ok', t('console.backupOk', { name: str('provider') }))
          : eventRow(jobId, 'fail', t('console.backupFail', { name: str('provider') })),
      ];
    case 'PLAN_RESULT': {
      const n = Array.isArray(payload.actions) ? payload.actions.length : 0;
      return [eventRow(jobId, 'info', t('console.plan', { n: String(n) }))];
    }
    case 'JOB_FAILED':
      // A cancelled job did not fail: a person stopped it.
      if (str('kind') === 'cancelled') return [eventRow(jobId, 'warn', t('console.cancelled'))];
      return [
        eventRow(
          jobId,
          'fail',
          t('console.failed', { message: failure(saidOf(payload), '', recipe).sentence }),
        ),
      ];
    default:
      return [];
  }
}

/** Appends rows, dropping the oldest beyond `MAX_LINES`. */
export function appendRows(lines: ConsoleLine[], rows: ConsoleLine[]): ConsoleLine[] {
  const all = lines.concat(rows);
  return all.length > MAX_LINES ? all.slice(all.length - MAX_LINES) : all;
}
