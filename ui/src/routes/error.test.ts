import { flushSync, mount, unmount } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, type Node } from '$lib/api';
import { setLang } from '$lib/i18n.svelte';
import { en } from '$lib/i18n/en';
import { fr } from '$lib/i18n/fr';
import { isHttpError } from '@sveltejs/kit';

// The error page reads `page` and calls `invalidateAll`; both stand in for SvelteKit's here.
const state = vi.hoisted(() => ({
  page: { status: 0, error: null as App.Error | null },
  invalidateAll: vi.fn(async () => {}),
}));
vi.mock('$app/state', () => ({ page: state.page }));
vi.mock('$app/navigation', () => ({ invalidateAll: state.invalidateAll }));

let component: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
  setLang('en');
  vi.restoreAllMocks();
});

async function showError(status: number, error: App.Error) {
  state.page.status = status;
  state.page.error = error;
  const { default: ErrorPage } = await import('./+error.svelte');
  const target = document.createElement('div');
  document.body.appendChild(target);
  component = mount(ErrorPage, { target });
  flushSync();
  return target;
}

describe('the error page', () => {
  it('says the failed call sentence, and "Try again" runs the page loads again', async () => {
    const sentence = 'The control plane cannot be reached; check that it is running.';
    const target = await showError(503, { message: sentence });
    expect(target.querySelector('h1')?.textContent).toBe(en['error.title']);
    expect(target.querySelector('[role=alert]')?.textContent).toBe(sentence);
    const retry = [...target.querySelectorAll('button')].find(
      (b) => b.textContent === en['error.retry'],
    );
    retry?.click();
    expect(state.invalidateAll).toHaveBeenCalledTimes(1);
    expect(target.querySelector('a[href="/"]')?.textContent).toBe(en['error.home']);
  });

  it('says a sentence of its own in the language the user picks', async () => {
    const target = await showError(404, { message: en['server.missing'], key: 'server.missing' });
    expect(target.querySelector('[role=alert]')?.textContent).toBe(en['server.missing']);
    setLang('fr');
    flushSync();
    expect(target.querySelector('[role=alert]')?.textContent).toBe(fr['server.missing']);
  });
});

describe('a failed load', () => {
  it('of a node missing from the list is the error page "no such node"', async () => {
    vi.spyOn(api, 'nodes').mockResolvedValue([{ id: 'node-1' } as Node]);
    vi.spyOn(api, 'recipes').mockResolvedValue([]);
    const { load } = await import('./nodes/[id]/+page');
    const event = { params: { id: 'node-2' }, url: new URL('http://cairn.test/nodes/node-2') };
    const e = await load(event as Parameters<typeof load>[0]).catch((e: unknown) => e);
    expect(isHttpError(e, 404)).toBe(true);
    expect(isHttpError(e) && e.body).toEqual({
      message: en['server.missing'],
      key: 'server.missing',
    });
  });
});

describe('a failure no load expected', () => {
  it('reaches the page as a sentence, its details only in the console; an unknown address too', async () => {
    const { handleError } = await import('../hooks.client');
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    const fault = new TypeError('Cannot read properties of undefined');
    const event = {} as Parameters<typeof handleError>[0]['event'];
    expect(
      await handleError({ error: fault, event, status: 500, message: 'Internal Error' }),
    ).toEqual({ message: en['error.unexpected'], key: 'error.unexpected' });
    expect(log).toHaveBeenCalledWith(fault);
    expect(
      await handleError({
        error: new Error('Not found: /x'),
        event,
        status: 404,
        message: 'Not Found',
      }),
    ).toEqual({ message: en['error.notFound'], key: 'error.notFound' });
  });
});
