import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, type Job } from './api';
import { locale, said } from './i18n.svelte';
import { failureOf } from './jobs';

afterEach(() => {
  locale.lang = 'en';
  vi.unstubAllGlobals();
});

describe('the control plane’s sentences in the page’s language', () => {
  it('says an API error by its code in French, and the English sentence for an unknown code', async () => {
    locale.lang = 'fr';
    const reply = (body: unknown) =>
      vi.fn(async () => new Response(JSON.stringify(body), { status: 404 }));
    vi.stubGlobal('fetch', reply({ error: 'there is no job with this id', code: 'http.noJob' }));
    await expect(api.job('x')).rejects.toThrow('il n’y a pas de tâche avec cet identifiant');
    vi.stubGlobal('fetch', reply({ error: 'a sentence from a newer control plane', code: 'new' }));
    await expect(api.job('x')).rejects.toThrow('a sentence from a newer control plane');
  });

  it('fills a sentence’s parts', () => {
    locale.lang = 'fr';
    expect(said('node.offline', { node: 'web-1' }, 'node web-1 is offline; …')).toBe(
      'le serveur web-1 est hors ligne ; attendez que son agent se reconnecte, puis réessayez',
    );
    expect(new ApiError(429, 'x', 'http.tooManyFromAddress', { secs: '30' }).message).toContain(
      'réessayez dans 30 secondes',
    );
  });

  it('says a failed job’s sentence in French from its stored code', () => {
    locale.lang = 'fr';
    const job = {
      status: 'failed',
      result: {
        message: '`false` failed with exit code 1',
        messageCode: 'job.commandFailed',
        messageArgs: { command: 'false', code: '1', detail: '' },
        location: 'fails.rhai:12',
      },
    } as unknown as Job;
    expect(failureOf(job)).toEqual({
      sentence: '`false` a échoué avec le code de sortie 1.',
      location: 'fails.rhai:12',
    });
  });
});
