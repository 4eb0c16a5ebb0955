/** A recipe's thrown failure on a French page: in the recipe's French, its parts filled. */
import { afterEach, describe, expect, it } from 'vitest';
import type { Job, Recipe } from './api';
import { rowsForEvent } from './console';
import { locale } from './i18n.svelte';
import { failure, failureOf } from './jobs';

const go = {
  id: 'go',
  title: 'Go',
  translations: {
    fr: {
      title: 'Go',
      messages: {
        'Go ${version} is not offered for ${goarch}':
          'Go ${version} n’est pas proposé pour ${goarch}',
        'the bucket is required': 'le bucket est obligatoire',
      },
    },
  },
} as unknown as Recipe;

function failedJob(result: Record<string, unknown>): Job {
  return {
    id: 'job-1',
    nodeId: 'n1',
    recipe: 'go',
    kind: 'INSTALL_RUNTIME',
    requestedBy: 'admin',
    status: 'failed',
    createdAt: 1,
    finishedAt: 2,
    result,
    params: null,
  };
}

afterEach(() => {
  locale.lang = 'en';
});

describe('a failure the recipe threw', () => {
  it('is in the recipe’s French on a French page, its parts filled from the English', () => {
    locale.lang = 'fr';
    expect(failure('Go 1.22.1 is not offered for armv6l', 'go.rhai:87', go)).toEqual({
      sentence: 'Go 1.22.1 n’est pas proposé pour armv6l.',
      location: 'go.rhai:87',
    });
    expect(failure('the bucket is required', '', go).sentence).toBe('Le bucket est obligatoire.');
  });

  it('stays as the recipe wrote it in English, or when it matches none of its sentences', () => {
    expect(failure('Go 1.22.1 is not offered for armv6l', '', go).sentence).toBe(
      'Go 1.22.1 is not offered for armv6l.',
    );
    locale.lang = 'fr';
    expect(failure('the disk is full', '', go).sentence).toBe('The disk is full.');
    expect(failure('the bucket is required', '').sentence).toBe('The bucket is required.');
  });

  it('is in French on the job page, also for a job stored with its location in the message', () => {
    locale.lang = 'fr';
    const stored = failedJob({ message: 'the bucket is required (at s3.rhai:145)' });
    expect(failureOf(stored, go)).toEqual({
      sentence: 'Le bucket est obligatoire.',
      location: 's3.rhai:145',
    });
  });

  it('is in French in the console’s failure line', () => {
    locale.lang = 'fr';
    const rows = rowsForEvent(
      'JOB_FAILED',
      'job-1',
      { kind: 'recipe', message: 'Go 1.22.1 is not offered for armv6l', location: 'go.rhai:87' },
      go,
    );
    const text = rows.map((r) => r.segments.map((s) => s.text).join('')).join('\n');
    expect(text).toContain('Go 1.22.1 n’est pas proposé pour armv6l.');
  });
});
