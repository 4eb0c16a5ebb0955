import { flushSync, mount, tick, unmount } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, type Recipe } from '$lib/api';
import { en } from '$lib/i18n/en';
import { locale } from '$lib/i18n.svelte';
import { session } from '$lib/session.svelte';
import type { PageLoadEvent as LoadEvent } from './$types';

const go: Recipe = {
  id: 'go',
  file: 'go.rhai',
  title: 'Go',
  category: 'runtime',
  version: 2,
  params: [],
  capabilities: { programs: ['tar', 'go'], paths: ['/opt/cairn/go'], services: [] },
  programs: [
    {
      program: 'tar',
      power: 'extracts archives into /opt/cairn/go',
      translations: { fr: 'décompresse des archives dans /opt/cairn/go' },
    },
    {
      program: 'go',
      power: 'its own program (the recipe may write /usr/local/bin/go): runs anything, as root',
    },
  ],
  paths: [
    {
      path: '/opt/cairn/go',
      power: 'may write here; nothing on the server runs or obeys these files by default',
    },
    {
      path: '/etc/cron.d/x',
      power: 'may write here; cron runs what is written there, as root',
      translations: { fr: 'peut écrire ici ; cron lance ce qui y est écrit, en root' },
    },
  ],
  source: '',
  published: true,
};

vi.mock('$lib/api', async (original) => ({
  ...(await original<typeof import('$lib/api')>()),
  api: { recipes: async () => [go], reloadRecipes: async () => [go] },
}));

let component: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
});

/** The page as the router shows it: its `load` first, then the page with that data. */
async function showPage() {
  const { default: Page } = await import('./+page.svelte');
  const { load } = await import('./+page');
  const data = await load({ url: new URL('http://cairn.test/recipes') } as LoadEvent);
  const target = document.createElement('div');
  document.body.appendChild(target);
  component = mount(Page, { target, props: { data } });
  await tick();
  await new Promise((r) => setTimeout(r, 0));
  flushSync();
  return target;
}

describe('recipe catalogue (threats.md row 30)', () => {
  it('says what each declared program can be made to do, not just its name', async () => {
    const target = await showPage();
    const items = [...target.querySelectorAll('ul.powers:not(.paths) li')].map(
      (li) => li.textContent,
    );
    const paths = [...target.querySelectorAll('ul.powers.paths li')].map((li) => li.textContent);
    expect(paths).toEqual([
      '/opt/cairn/go: may write here; nothing on the server runs or obeys these files by default',
      '/etc/cron.d/x: may write here; cron runs what is written there, as root',
    ]);
    expect(items).toEqual([
      'tar: extracts archives into /opt/cairn/go',
      'go: its own program (the recipe may write /usr/local/bin/go): runs anything, as root',
    ]);
  });

  it('says the powers in the engine’s French on a French page, English where it has none', async () => {
    locale.lang = 'fr';
    const target = await showPage();
    const text = (sel: string) => [...target.querySelectorAll(sel)].map((li) => li.textContent);
    expect(text('ul.powers:not(.paths) li')).toEqual([
      'tar : décompresse des archives dans /opt/cairn/go',
      'go : its own program (the recipe may write /usr/local/bin/go): runs anything, as root',
    ]);
    expect(text('ul.powers.paths li')[1]).toBe(
      '/etc/cron.d/x : peut écrire ici ; cron lance ce qui y est écrit, en root',
    );
    locale.lang = 'en';
  });

  it('offers "Reload from disk" to admins only (issue 20)', async () => {
    session.role = 'operator';
    const target = await showPage();
    const labels = [...target.querySelectorAll('button')].map((b) => b.textContent);
    expect(labels).not.toContain(en['recipes.reload']);
    expect(target.querySelectorAll('article.recipe')).toHaveLength(1);
  });

  it('keeps the catalogue when "Reload from disk" fails, and says why next to the button', async () => {
    session.role = 'admin';
    const target = await showPage();
    const sentence = 'The control plane cannot be reached; check that it is running.';
    vi.spyOn(api, 'reloadRecipes').mockRejectedValue(new ApiError(0, sentence));
    const reload = [...target.querySelectorAll('button')].find(
      (b) => b.textContent === en['recipes.reload'],
    );
    reload?.click();
    await vi.waitFor(() => {
      flushSync();
      expect(target.querySelector('p.error[role=alert]')?.textContent).toBe(sentence);
    });
    expect(target.querySelectorAll('article.recipe')).toHaveLength(1);
    expect(reload?.disabled).toBe(false);
  });
});
