import { flushSync, mount, tick, unmount } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Recipe } from '$lib/api';

const go: Recipe = {
  id: 'go',
  file: 'go.rhai',
  title: 'Go',
  category: 'runtime',
  version: 2,
  params: [],
  capabilities: { programs: ['tar', 'go'], paths: ['/opt/cairn/go'], services: [] },
  programs: [
    { program: 'tar', power: 'extracts archives into /opt/cairn/go' },
    {
      program: 'go',
      power: 'its own program (the recipe may write /usr/local/bin/go): runs anything, as root',
    },
  ],
  source: '',
  published: true,
};

vi.mock('$lib/api', () => ({
  api: { recipes: async () => [go], reloadRecipes: async () => [go] },
}));

let component: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
});

describe('recipe catalogue (THREATS row 30)', () => {
  it('says what each declared program can be made to do, not just its name', async () => {
    const { default: Page } = await import('./+page.svelte');
    const target = document.createElement('div');
    document.body.appendChild(target);
    component = mount(Page, { target });
    await tick();
    await new Promise((r) => setTimeout(r, 0));
    flushSync();
    const items = [...target.querySelectorAll('ul.powers li')].map((li) => li.textContent);
    expect(items).toEqual([
      'tar: extracts archives into /opt/cairn/go',
      'go: its own program (the recipe may write /usr/local/bin/go): runs anything, as root',
    ]);
  });
});
